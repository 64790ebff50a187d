import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));

describe("npm run playground", () => {
  it("shows red with annotations, waiting for the right approvers, a stale approval, then green", () => {
    const out = execFileSync(`${root}node_modules/.bin/tsx`, ["playground/playground.ts"], { cwd: root, encoding: "utf8" });
    const red = out.indexOf('✖ check run "Charter": failure');
    const waiting = out.indexOf('… check run "Charter": action_required — Waiting: Needs 1 more approval from @acme/support-eng, @dana-support (support-triage)');
    const security = out.indexOf("Waiting: Needs 1 more approval from @acme/security", waiting);
    const stale = out.indexOf("@dana-support's approval is for an older commit", security);
    const green = out.indexOf('✔ check run "Charter": success', stale);
    expect(red).toBeGreaterThan(0);
    expect(waiting).toBeGreaterThan(red);
    expect(security).toBeGreaterThan(waiting);
    expect(stale).toBeGreaterThan(security);
    expect(green).toBeGreaterThan(stale);
    expect(out).toContain("| `support-triage` | model-changed | high |");
    expect(out).toContain("| `support-triage` | permission-added | critical |");
    expect(out).toMatch(/agents\/support-triage\/agent\.yaml:\d+:\d+ {2}model\/unpinned/);
    expect(out).toMatch(/agents\/support-triage\/agent\.yaml:\d+:\d+ {2}permission\/wildcard/);
    expect(out).toContain("requests GitHub would have rejected: 0");
    // The merge is recorded, verifies, and an edit to the record is caught.
    expect(out).toMatch(/charter verify --key <published key> {3}→ exit 0\n {3}verified: 2 records on origin\/charter-evidence/);
    expect(out).toMatch(/charter verify --branch tampered {3}→ exit 1\n {3}NOT verified/);
    const clone = /the auditor's clone at (\S+);/.exec(out)?.[1];
    expect(clone).toBeDefined();
    if (clone) rmSync(join(clone, ".."), { recursive: true, force: true });
    // The playground keeps its repository for the user to inspect; the test cleans up after it.
    const kept = /stays at (\S+)\/acme\/agents\.git/.exec(out)?.[1];
    expect(kept).toBeDefined();
    if (kept) rmSync(kept, { recursive: true, force: true });
  }, 60_000);
});
