// Regenerates test/github-sim/openapi/github-rest-subset.json: the slice of GitHub's REST
// OpenAPI description that the GitHub simulator routes and validates requests against.
//
// @octokit/openapi is ~385 MB installed, so it is never a dependency of this project. Install it
// somewhere outside the repository and point this script at its api.github.com.json:
//
//   npm install --prefix /some/tmp/dir @octokit/openapi@23
//   node scripts/trim-openapi.js /some/tmp/dir/node_modules/@octokit/openapi/generated/api.github.com.json
//
// Without an argument the script resolves @octokit/openapi from the current directory's
// node_modules (so `cd /some/tmp/dir && node <repo>/scripts/trim-openapi.js` works too).
//
// What is kept: the listed operations (only their own HTTP method of each path) and every
// component they reach through $ref, transitively. What is dropped: response examples (they
// reference the largest part of components/examples and are never used for validation), tags,
// x-webhooks and servers other than api.github.com. The output is stable: keys keep GitHub's
// order, so a re-run on the same input produces the same bytes.

import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Operation ids the simulator implements; keep in sync with test/github-sim/rest-handlers. */
export const OPERATION_IDS = [
  "apps/create-installation-access-token",
  "apps/get-repo-installation",
  "apps/list-installations",
  "apps/list-repos-accessible-to-installation",
  "repos/get",
  "repos/get-content",
  "repos/compare-commits",
  "repos/get-branch",
  "repos/get-branch-rules",
  "repos/list-pull-requests-associated-with-commit",
  "pulls/list",
  "pulls/get",
  "pulls/list-files",
  "pulls/list-reviews",
  "pulls/list-commits",
  "pulls/merge",
  "checks/create",
  "checks/update",
  "checks/list-for-ref",
  "checks/get",
  "git/get-ref",
  "git/create-ref",
  "git/update-ref",
  "git/get-tree",
  "git/create-tree",
  "git/get-blob",
  "git/create-blob",
  "git/get-commit",
  "git/create-commit",
  "teams/get-membership-for-user-in-org",
  "orgs/get-membership-for-user",
  "repos/get-collaborator-permission-level",
  "issues/create",
  "issues/create-comment",
  "issues/list-comments",
  "issues/get",
  "issues/update",
  "issues/list-for-repo",
  "issues/list-labels-on-issue",
  "users/get-by-username",
  "actions/list-jobs-for-workflow-run",
];

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

function resolveInput(argument) {
  if (argument) return resolve(argument);
  const require = createRequire(join(process.cwd(), "noop.js"));
  return require.resolve("@octokit/openapi/generated/api.github.com.json");
}

/** Removes media-type examples: they only point into components/examples. */
function dropExamples(operation) {
  const copy = structuredClone(operation);
  for (const response of Object.values(copy.responses ?? {})) {
    for (const media of Object.values(response.content ?? {})) {
      delete media.examples;
    }
  }
  for (const media of Object.values(copy.requestBody?.content ?? {})) {
    delete media.examples;
  }
  return copy;
}

/** Collects "#/components/<kind>/<name>" references reachable from `value`, following them. */
function collectRefs(value, components, seen) {
  if (Array.isArray(value)) {
    for (const item of value) collectRefs(item, components, seen);
    return;
  }
  if (value === null || typeof value !== "object") return;
  for (const [key, child] of Object.entries(value)) {
    if (key === "$ref" && typeof child === "string") {
      const match = /^#\/components\/([^/]+)\/(.+)$/.exec(child);
      if (!match) throw new Error(`trim-openapi: unsupported $ref ${child}`);
      const [, kind, name] = match;
      const id = `${kind}/${name}`;
      if (seen.has(id)) continue;
      seen.add(id);
      const target = components[kind]?.[name];
      if (target === undefined) throw new Error(`trim-openapi: dangling $ref ${child}`);
      collectRefs(kind === "responses" || kind === "headers" ? dropExamplesDeep(target) : target, components, seen);
    } else {
      collectRefs(child, components, seen);
    }
  }
}

/** Shared responses carry examples too. */
function dropExamplesDeep(component) {
  const copy = structuredClone(component);
  for (const media of Object.values(copy.content ?? {})) delete media.examples;
  return copy;
}

export function trim(full) {
  const paths = {};
  const found = new Set();
  for (const [path, item] of Object.entries(full.paths)) {
    for (const method of HTTP_METHODS) {
      const operation = item[method];
      if (!operation || !OPERATION_IDS.includes(operation.operationId)) continue;
      found.add(operation.operationId);
      paths[path] ??= {};
      if (item.parameters) paths[path].parameters = item.parameters;
      paths[path][method] = dropExamples(operation);
    }
  }
  const missing = OPERATION_IDS.filter((id) => !found.has(id));
  if (missing.length > 0) throw new Error(`trim-openapi: operations not in the description: ${missing.join(", ")}`);

  const seen = new Set();
  collectRefs(paths, full.components, seen);
  const components = {};
  for (const kind of Object.keys(full.components)) {
    for (const name of Object.keys(full.components[kind])) {
      if (!seen.has(`${kind}/${name}`)) continue;
      components[kind] ??= {};
      const value = full.components[kind][name];
      components[kind][name] = kind === "responses" || kind === "headers" ? dropExamplesDeep(value) : value;
    }
  }
  return {
    openapi: full.openapi,
    info: {
      ...full.info,
      description: `${full.info.description ?? ""} (Subset: ${OPERATION_IDS.length} operations, trimmed by scripts/trim-openapi.js.)`,
    },
    servers: (full.servers ?? []).filter((server) => server.url === "https://api.github.com"),
    externalDocs: full.externalDocs,
    paths,
    components,
  };
}

function main() {
  const input = resolveInput(process.argv[2]);
  const full = JSON.parse(readFileSync(input, "utf8"));
  const subset = trim(full);
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const output = join(repoRoot, "test", "github-sim", "openapi", "github-rest-subset.json");
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, `${JSON.stringify(subset, null, 1)}\n`);
  const count = Object.values(subset.components).reduce((sum, group) => sum + Object.keys(group).length, 0);
  process.stdout.write(`trim-openapi: ${OPERATION_IDS.length} operations, ${count} components -> ${output}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
