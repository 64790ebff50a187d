import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));

describe("npm run playground", () => {
  it("shows the check run going red with annotations, then green, with no rejected request", () => {
    const out = execFileSync(`${root}node_modules/.bin/tsx`, ["playground/playground.ts"], { cwd: root, encoding: "utf8" });
    const red = out.indexOf('✖ check run "Charter": failure');
    const green = out.indexOf('✔ check run "Charter": success');
    expect(red).toBeGreaterThan(0);
    expect(green).toBeGreaterThan(red);
    expect(out).toMatch(/agents\/support-triage\/agent\.yaml:\d+:\d+ {2}model\/unpinned/);
    expect(out).toMatch(/agents\/support-triage\/agent\.yaml:\d+:\d+ {2}permission\/wildcard/);
    expect(out).toContain("requests GitHub would have rejected: 0");
    // The playground keeps its repository for the user to inspect; the test cleans up after it.
    const kept = /stays at (\S+)\/acme\/agents\.git/.exec(out)?.[1];
    expect(kept).toBeDefined();
    if (kept) rmSync(kept, { recursive: true, force: true });
  }, 60_000);
});
