import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { governanceKind, GOVERNED_PATHSPECS, GOVERNED_ROOTS, isGoverned, POLICY_PATH } from "../src/change/governed-paths.js";
import { governedHistory } from "../src/git/governed-history.js";
import { evidenceLane, laneOfEvent, pullRequestLane } from "../src/github/ops/lanes.js";
import { tempRepo } from "./helpers/temp-repo.js";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/** Every string literal and template text of src/, by file, from TypeScript's syntax tree (comments are not literals). */
function literalsByFile(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const path of sourceFiles(SRC)) {
    const literals: string[] = [];
    const visit = (node: ts.Node): void => {
      if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) literals.push(node.text);
      ts.forEachChild(node, visit);
    };
    visit(ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true));
    out.set(relative(SRC, path), literals);
  }
  return out;
}

/** The files whose literals satisfy `test`. */
function filesWith(literals: Map<string, string[]>, test: (literal: string) => boolean): string[] {
  return [...literals].filter(([, values]) => values.some(test)).map(([file]) => file);
}

describe("knowledge spelled out once", () => {
  const literals = literalsByFile();

  it("the governed paths are written in one file", () => {
    const files = [".github/charter.yml", "CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS", "schemas", ".github/workflows"];
    const directories = ["agents/", "schemas/", ".github/workflows/"];
    const names = (l: string): boolean => files.includes(l) || directories.some((d) => l.startsWith(d));
    // The evidence branch's own pages (agents/<xx>/<id>.md there) are another tree, not the governed
    // one, and so are Charter's own schema files, which src/schemas.ts finds in the installed package.
    const ownSchema = (l: string): boolean => /^schemas\/[a-z-]+\.schema\.json$/.test(l);
    const governedTree = new Map(
      [...literals].filter(([file]) => file !== "evidence/site/site-paths.ts" && file !== "schemas.ts").map(([file, values]) => [file, values.filter((l) => !ownSchema(l))]),
    );
    expect(filesWith(governedTree, names)).toEqual(["change/governed-paths.ts"]);
  });

  it("the job queue's lanes are written in one file", () => {
    expect(filesWith(literals, (l) => l === ":evidence" || l.endsWith(":evidence"))).toEqual(["github/ops/lanes.ts"]);
  });

  it("an evidence target (with its signing key) is built in one place", () => {
    const built = sourceFiles(join(SRC, "github")).filter((path) => /\bsignerKey\s*:\s*(?!string\b)/.test(readFileSync(path, "utf8").replace(/readonly signerKey: string/g, "")));
    expect(built.map((path) => relative(SRC, path))).toEqual(["github/merge/evidence-writer.ts"]);
  });
});

describe("the governed paths", () => {
  const repo = tempRepo({ "README.md": "start\n" });
  afterAll(() => { repo.remove(); });

  // Paths on both sides of every boundary: a directory and a file of the same name, near misses.
  const PATHS = [
    "agents/support-triage/agent.yaml",
    "agents/README.md",
    "agentsx/notes.md",
    ".github/charter.yml",
    ".github/charter.yaml",
    "schemas/agent-manifest.schema.json",
    "docs/schemas/notes.md",
    "CODEOWNERS",
    ".github/CODEOWNERS",
    "docs/CODEOWNERS",
    "src/CODEOWNERS",
    ".github/workflows/ci.yml",
    ".github/workflows-old/ci.yml",
    "src/index.ts",
  ];

  it("git's history filter and the classifier agree on every path (a real repository, one commit per path)", async () => {
    const start = repo.commitAll("start");
    const commits = new Map<string, string>();
    for (const path of PATHS) {
      repo.write({ [path]: `${path}\n` });
      commits.set(repo.commitAll(`touch ${path}`), path);
    }
    const listed = new Set((await governedHistory(repo.root, "main", start)).map((c) => commits.get(c.sha)));
    expect(PATHS.filter((p) => listed.has(p))).toEqual(PATHS.filter(isGoverned));
    expect(PATHS.filter(isGoverned)).toEqual([
      "agents/support-triage/agent.yaml",
      "agents/README.md",
      ".github/charter.yml",
      "schemas/agent-manifest.schema.json",
      "CODEOWNERS",
      ".github/CODEOWNERS",
      "docs/CODEOWNERS",
      ".github/workflows/ci.yml",
    ]);
  });

  it("the policy file is a governance file, and the history roots are the pathspecs without their slash", () => {
    expect(governanceKind(POLICY_PATH)).toBe("policy-changed");
    expect(GOVERNED_PATHSPECS.map((spec) => spec.replace(/\/$/, ""))).toEqual(GOVERNED_ROOTS);
  });
});

describe("the job queue's lanes", () => {
  const repository = { name: "app", owner: { login: "acme" } };

  it("every webhook that appends evidence lands in the repository's evidence lane, where the handlers take their turn", () => {
    const lane = evidenceLane({ owner: "acme", repo: "app" });
    expect(laneOfEvent("pull_request", { action: "closed", repository, pull_request: { number: 7, merged: true } })).toBe(lane);
    expect(laneOfEvent("push", { repository })).toBe(lane);
    expect(laneOfEvent("issue_comment", { action: "created", repository })).toBe(lane);
  });

  it("a pull request's other events run in its own lane", () => {
    const lane = pullRequestLane({ owner: "acme", repo: "app", number: 7 });
    expect(laneOfEvent("pull_request", { action: "synchronize", repository, pull_request: { number: 7 } })).toBe(lane);
    expect(laneOfEvent("pull_request", { action: "closed", repository, pull_request: { number: 7, merged: false } })).toBe(lane);
    expect(laneOfEvent("pull_request_review", { action: "submitted", repository, pull_request: { number: 7 } })).toBe(lane);
    expect(lane).not.toBe(evidenceLane({ owner: "acme", repo: "app" }));
  });
});
