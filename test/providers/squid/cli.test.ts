import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentTree } from "../../helpers/provisioning.js";
import { saveEnv } from "../../helpers/saved-env.js";
import { throwawaySquid, type ThrowawaySquid } from "../../helpers/squid.js";
import { tempRepo, type TempRepo } from "../../helpers/temp-repo.js";
import { runCli } from "../../cli/run-cli.js";

// charter validate, sync and drift end to end: manifests in a git repository, the policy's
// squid section, the directory from the environment, a real proxy.
const VARIABLES = ["CHARTER_SQUID_DIR_EGRESS", "CHARTER_SQUID_BIN"];
let squid: ThrowawaySquid;
let repo: TempRepo;
let restoreEnv: () => void = () => undefined;

beforeAll(async () => {
  squid = await throwawaySquid(["api.example.com"]);
  restoreEnv = saveEnv(VARIABLES);
  const policy = `version: 1\nprovisioning:\n  providers:\n    local:\n      enabled: false\n    squid:\n      - instance: egress\n        listen: "${squid.listen}"\n        hostsFile: ${squid.hostsFile}\n`;
  repo = tempRepo({ ...agentTree([{ id: "web-reader", permissions: ["http:get:api.example.com/v1/orders/*"] }]), ".github/charter.yml": policy });
  repo.commitAll("one agent behind the egress proxy");
  process.env["CHARTER_SQUID_BIN"] = squid.program;
}, 60_000);
afterAll(async () => {
  restoreEnv();
  repo.remove();
  await squid.stop();
});

describe("charter with a squid provider", () => {
  it("says which variable is missing, without a stack trace", async () => {
    delete process.env["CHARTER_SQUID_DIR_EGRESS"];
    const result = await runCli(["plan"], repo.root);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/CHARTER_SQUID_DIR_EGRESS is not set/);
    expect(result.stderr).not.toMatch(/\n\s+at |internal error/);
  });

  it("validates, syncs, finds a hand edit as drift (exit 1) with the fix, and sync restores the approved file", async () => {
    process.env["CHARTER_SQUID_DIR_EGRESS"] = squid.directory;
    expect(await runCli(["validate"], repo.root)).toMatchObject({ code: 0 });
    // squid is not running yet: the file is written, the reload is the escalated step.
    const first = await runCli(["sync"], repo.root);
    expect(first.code).not.toBe(0);
    expect(first.stdout + first.stderr).toMatch(/start squid with/);
    await squid.start();
    expect(await runCli(["sync"], repo.root)).toMatchObject({ code: 0 });
    expect(await runCli(["drift"], repo.root)).toMatchObject({ code: 0 });

    const config = join(squid.directory, "squid.conf");
    writeFileSync(config, readFileSync(config, "utf8").replace("http_access deny all", "http_access allow all"));
    const drift = await runCli(["drift", "--format", "json"], repo.root);
    expect(drift.code).toBe(1);
    const findings = (JSON.parse(drift.stdout) as { findings: { kind: string; detail: string }[] }).findings;
    expect(findings.map((x) => x.kind)).toContain("config-edited");
    expect(findings.find((x) => x.kind === "config-edited")?.detail).toContain("+ http_access allow all");
    expect((await runCli(["sync"], repo.root)).code).toBe(0);
    expect(await runCli(["drift"], repo.root)).toMatchObject({ code: 0 });
  });
});
