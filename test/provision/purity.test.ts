import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const DIR = fileURLToPath(new URL("../../src/provision/", import.meta.url));

/** The engine is handed its providers; it must not reach a database, git or GitHub by itself. */
describe("src/provision", () => {
  it("imports no driver, git, file system or GitHub code", () => {
    const imports = readdirSync(DIR)
      .filter((f) => f.endsWith(".ts"))
      .flatMap((file) => [...readFileSync(DIR + file, "utf8").matchAll(/^import[^"]*"([^"]+)"/gm)].map((m) => `${file}: ${m[1] ?? ""}`));
    expect(imports.length).toBeGreaterThan(0);
    const forbidden = imports.filter((line) => /: (better-sqlite3|pg|simple-git|probot|@octokit\/.*|node:fs|node:child_process|node:net|\.\.\/(git|github|fs|providers|cli)\/.*)$/.test(line));
    expect(forbidden).toEqual([]);
  });
});
