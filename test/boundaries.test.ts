import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

/**
 * Which part of src/ may import which. The pure core knows nothing of GitHub, git, file systems or
 * databases, and each core layer imports only the layers listed before it, so no folder loop can
 * form; adapters are handed core types, never the other way round; the app (github) and the CLI
 * stand side by side on top and share nothing but the layers below them.
 *
 * A top-level file (errors.ts, schemas.ts) is its own layer, named without ".ts".
 */
const BASE = ["errors", "schemas", "schema-types"];
const CORE = ["manifest", "change", "provision", "policy", "evidence", "trail", "detect", "readiness"];
const coreBelow = (layer: string): string[] => CORE.slice(0, CORE.indexOf(layer));

/** Packages a pure layer may use: parsing, validation, hashing and path arithmetic, no I/O. */
const PURE_PACKAGES = ["yaml", "ajv", "ajv-formats", "canonicalize", "node:crypto", "node:path"];

interface Rule {
  readonly may: readonly string[];
  /** Undefined: any package. */
  readonly packages?: readonly string[];
}

const RULES: Readonly<Record<string, Rule>> = {
  // Generated from schemas/ (npm run generate): every layer may import them; they import nothing
  // but the runtime helpers of ajv's generated validators.
  "schema-types": { may: [], packages: ["node:module", "ajv", "ajv-formats"] },
  errors: { may: [], packages: [] },
  // Loads the package's own JSON Schemas; the only file-system read the core reaches.
  schemas: { may: [], packages: ["node:fs"] },
  ...Object.fromEntries(CORE.map((layer) => [layer, { may: [...BASE, ...coreBelow(layer)], packages: PURE_PACKAGES }])),
  // Adapters: the outside world in, core types out.
  fs: { may: [...BASE, ...CORE] },
  git: { may: [...BASE, ...CORE] },
  jobs: { may: [...BASE] },
  providers: { may: [...BASE, ...CORE] },
  audit: { may: [...BASE, ...CORE, "git"] },
  // The action trail's sources: they name agents by the providers' identities and anchor into the
  // ledger the audit index reads.
  sources: { may: [...BASE, ...CORE, "providers", "audit"] },
  // The two entry points.
  github: { may: [...BASE, ...CORE, "fs", "git", "jobs", "providers", "audit", "sources"] },
  cli: { may: [...BASE, ...CORE, "fs", "git", "jobs", "providers", "audit", "sources"] },
};

interface ImportEdge {
  /** The importing file, relative to src/. */
  readonly file: string;
  /** A package name, or a file relative to src/ (a path outside src/ starts with ".."). */
  readonly target: string;
  readonly relative: boolean;
}

function layerOf(path: string): string {
  const [first = "", second] = path.split("/");
  return second === undefined ? first.replace(/\.ts$/, "") : first;
}

function packageName(spec: string): string {
  return spec.startsWith("node:") ? spec : spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/");
}

function violations(edges: readonly ImportEdge[]): string[] {
  const found: string[] = [];
  for (const edge of edges) {
    const from = layerOf(edge.file);
    const rule = RULES[from];
    if (rule === undefined) {
      found.push(`${edge.file}: src/${from} has no place in the layer rules (add it to RULES in test/boundaries.test.ts)`);
      continue;
    }
    if (!edge.relative) {
      const name = packageName(edge.target);
      if (rule.packages !== undefined && !rule.packages.includes(name)) found.push(`${edge.file}: ${from} may not use the package ${name}`);
      continue;
    }
    if (edge.target.startsWith("..")) {
      found.push(`${edge.file}: imports ${edge.target}, outside src/`);
      continue;
    }
    const to = layerOf(edge.target);
    if (to !== from && !rule.may.includes(to)) found.push(`${edge.file}: ${from} may not import ${to} (${edge.target})`);
  }
  return found;
}

/** Folder loops among the edges that cross folders: each returned list is one loop. */
function folderLoops(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    if (!e.relative) continue;
    const from = layerOf(e.file);
    const to = layerOf(e.target);
    if (from !== to) next.set(from, (next.get(from) ?? new Set()).add(to));
  }
  const loops: string[][] = [];
  const visit = (node: string, path: readonly string[]): void => {
    for (const to of next.get(node) ?? []) {
      const at = path.indexOf(to);
      if (at >= 0) loops.push([...path.slice(at), to]);
      else visit(to, [...path, to]);
    }
  };
  for (const start of next.keys()) visit(start, [start]);
  return loops;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/** Every import of src/: static, re-exports and dynamic import(), as TypeScript's own pre-processor finds them. */
function importsOfSrc(): ImportEdge[] {
  return sourceFiles(SRC).flatMap((path) => {
    const info = ts.preProcessFile(readFileSync(path, "utf8"), true, true);
    return info.importedFiles.map(({ fileName: spec }) => {
      const file = relative(SRC, path);
      if (!spec.startsWith(".")) return { file, target: spec, relative: false };
      return { file, target: relative(SRC, resolve(dirname(path), spec.replace(/\.js$/, ".ts"))), relative: true };
    });
  });
}

describe("layer boundaries of src/", () => {
  const edges = importsOfSrc();

  it("finds the imports it judges", () => {
    expect(edges.length).toBeGreaterThan(500);
    expect(edges).toContainEqual({ file: "cli/run-command.ts", target: "errors.ts", relative: true });
  });

  it("every import follows the rules", () => {
    expect(violations(edges)).toEqual([]);
  });

  it("no folder imports itself through another", () => {
    expect(folderLoops(edges)).toEqual([]);
  });

  it("every folder of src/ has its place in the rules", () => {
    const folders = readdirSync(SRC).map((name) => name.replace(/\.ts$/, ""));
    expect(folders.filter((f) => RULES[f] === undefined)).toEqual([]);
  });

  // The checker itself: each kind of violation it exists to catch.
  it.each([
    ["an upward import in the core", { file: "policy/retro-review.ts", target: "evidence/record.ts", relative: true }, "policy may not import evidence"],
    ["the CLI reaching into the app", { file: "cli/evaluate-command.ts", target: "github/rest-facts.ts", relative: true }, "cli may not import github"],
    ["a database driver in the core", { file: "provision/engine.ts", target: "pg", relative: false }, "provision may not use the package pg"],
    ["the file system in the core", { file: "trail/event.ts", target: "node:fs", relative: false }, "trail may not use the package node:fs"],
    ["git in detection", { file: "detect/rules.ts", target: "git/run-git.ts", relative: true }, "detect may not import git"],
    ["an adapter importing the app", { file: "sources/pgaudit.ts", target: "github/app.ts", relative: true }, "sources may not import github"],
    ["a folder without a rule", { file: "misc/thing.ts", target: "errors.ts", relative: true }, "src/misc has no place"],
  ])("reports %s", (_name, edge, message) => {
    expect(violations([edge]).join("\n")).toContain(message);
  });

  it("reports a folder loop", () => {
    const loop = folderLoops([
      { file: "policy/a.ts", target: "evidence/b.ts", relative: true },
      { file: "evidence/b.ts", target: "policy/c.ts", relative: true },
    ]);
    expect(loop[0]).toEqual(["policy", "evidence", "policy"]);
  });
});

/**
 * src/github by workflow, so that the folder names say what the app does: the entry files at the
 * top, one folder per workflow, and the GitHub API adapters and operations plumbing beneath them.
 * Each folder imports only the folders listed before it; nothing inside imports an entry file.
 */
const GITHUB_ENTRY_FILES = ["app.ts", "index.ts", "main.ts"];
const GITHUB_FOLDERS = [
  "api", // GitHub API adapters: tuned Octokit, GraphQL loaders, blob texts, branch writer, ledger source
  "ops", // runtime plumbing: event router, lanes, keyed queue, delivery log, metrics, health routes
  "pull-request", // the check: read facts, evaluate, publish the check run
  "merge", // record the merge, the evidence writer, provisioning, controls, retro review and approval
  "push", // direct pushes to the default branch, and policy changes that re-check open pull requests
  "scheduled", // the schedule and its tasks: reconcile, drift, access review
  "trail", // the action trail's runtime, detection settings, alert escalation
];

function githubLayoutViolations(files: readonly string[], edges: readonly ImportEdge[]): string[] {
  const found: string[] = [];
  const folderOf = (file: string): string | null => {
    const parts = file.split("/");
    return parts[0] === "github" && parts.length > 2 ? (parts[1] ?? null) : null;
  };
  for (const file of files) {
    const parts = file.split("/");
    if (parts[0] !== "github") continue;
    if (parts.length === 2 && !GITHUB_ENTRY_FILES.includes(parts[1] ?? "")) {
      found.push(`src/${file}: only ${GITHUB_ENTRY_FILES.join(", ")} sit directly in src/github; move it into the folder of its workflow (${GITHUB_FOLDERS.join(", ")})`);
    }
    if (parts.length > 2 && !GITHUB_FOLDERS.includes(parts[1] ?? "")) found.push(`src/${file}: src/github/${parts[1] ?? ""} is not one of ${GITHUB_FOLDERS.join(", ")} (add it to GITHUB_FOLDERS in test/boundaries.test.ts)`);
    if (parts.length > 3) found.push(`src/${file}: src/github's folders are one level deep`);
  }
  for (const edge of edges) {
    if (!edge.relative) continue;
    const from = folderOf(edge.file);
    if (from === null) continue;
    const target = edge.target.split("/");
    if (target[0] !== "github") continue;
    if (target.length === 2) {
      found.push(`${edge.file}: imports the entry file ${edge.target}; the workflows are wired together only there`);
      continue;
    }
    const to = folderOf(edge.target);
    if (to !== null && to !== from && GITHUB_FOLDERS.indexOf(to) > GITHUB_FOLDERS.indexOf(from)) {
      found.push(`${edge.file}: github/${from} may not import github/${to} (${edge.target}); a folder imports only those before it in GITHUB_FOLDERS`);
    }
  }
  return found;
}

describe("layout of src/github", () => {
  const files = sourceFiles(join(SRC, "github")).map((path) => relative(SRC, path));
  const edges = importsOfSrc();

  it("finds the files it judges", () => {
    expect(files).toContain("github/app.ts");
    expect(files).toContain("github/pull-request/pull-request-check.ts");
  });

  it("keeps the entry files at the top, everything else in its workflow's folder, imports in order", () => {
    expect(githubLayoutViolations(files, edges)).toEqual([]);
  });

  it("every workflow folder exists", () => {
    const present = readdirSync(join(SRC, "github")).filter((name) => statSync(join(SRC, "github", name)).isDirectory());
    expect(present.sort()).toEqual([...GITHUB_FOLDERS].sort());
  });

  it.each([
    ["a new flat file", ["github/new-handler.ts"], [], "only app.ts, index.ts, main.ts sit directly in src/github"],
    ["an unknown folder", ["github/misc/thing.ts"], [], "src/github/misc is not one of"],
    ["a nested folder", ["github/merge/deep/thing.ts"], [], "one level deep"],
    ["an adapter importing a workflow", [], [{ file: "github/api/blob-texts.ts", target: "github/merge/evidence-writer.ts", relative: true }], "github/api may not import github/merge"],
    ["a workflow importing the app", [], [{ file: "github/push/handle-push.ts", target: "github/app.ts", relative: true }], "imports the entry file github/app.ts"],
  ])("reports %s", (_name, layoutFiles, layoutEdges, message) => {
    expect(githubLayoutViolations(layoutFiles, layoutEdges).join("\n")).toContain(message);
  });
});
