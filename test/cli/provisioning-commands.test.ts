import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { verifyToken } from "../../src/providers/local/index.js";
import { agentTree, manifestText, signingKeyPem, tempDir, type TempDir } from "../helpers/provisioning.js";
import { saveEnv } from "../helpers/saved-env.js";
import { tempRepo, type TempRepo } from "../helpers/temp-repo.js";
import { runCli } from "./run-cli.js";

const VARIABLES = ["CHARTER_LOCAL_DB", "CHARTER_TOKEN_SIGNING_KEY", "CHARTER_POSTGRES_URL_CRM_PROD"] as const;
let restoreEnv: () => void = () => undefined;

const REVIEW = { id: "review", maxLifetime: "15m", permissions: ["github:contents:read:acme/app", "http:post:api.example.com/v1/comments"] };
const HELPER = { id: "helper", permissions: ["http:get:api.example.com/v1/faq"] };

let repo: TempRepo;
// The registry lives outside the repository, as it would in production.
let state: TempDir;

beforeEach(() => {
  restoreEnv = saveEnv(VARIABLES);
  repo = tempRepo({ ...agentTree([REVIEW, HELPER]), ".github/charter.yml": "version: 1\nprovisioning:\n  providers:\n    local:\n      issuer: acme-charter\n" });
  repo.commitAll("two agents");
  state = tempDir();
  process.env["CHARTER_LOCAL_DB"] = state.file("local.db");
  process.env["CHARTER_TOKEN_SIGNING_KEY"] = signingKeyPem();
  delete process.env["CHARTER_POSTGRES_URL_CRM_PROD"];
});

afterEach(() => {
  restoreEnv();
  repo.remove();
  state.remove();
});

describe("charter plan, sync and drift", () => {
  it("plan shows the work, sync applies it and converges, and then nothing is left", async () => {
    // Before the first sync there is no registry yet: plan says so and reads it as empty.
    const plan = await runCli(["plan"], repo.root);
    expect(plan).toMatchObject({ code: 0, stderr: expect.stringContaining("does not exist yet: planned as if it were empty") as string });
    expect(plan.stdout).toContain("5 operations, 0 findings");
    expect(plan.stdout).toContain("local  review  grant  http:post:api.example.com/v1/comments");

    const synced = await runCli(["sync"], repo.root);
    expect(synced).toMatchObject({ code: 0, stderr: "" });
    expect(synced.stdout).toMatch(/^sync of [0-9a-f]{12}: converged \(5 operations applied, 0 operations remaining, 0 escalations\)/);

    const again = await runCli(["sync", "--format", "json"], repo.root);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ outcome: "converged", plan: [], applied: [], verification: { remaining: [], escalations: [] } });
    expect((await runCli(["plan"], repo.root)).stdout).toContain("Nothing to apply");
    expect(await runCli(["drift"], repo.root)).toMatchObject({ code: 0, stdout: expect.stringContaining("no drift") as string });
  });

  it("drift exits 1 when the providers differ from the manifests, and --ref reads an earlier commit", async () => {
    await runCli(["sync"], repo.root);
    repo.write({ "agents/helper/agent.yaml": manifestText({ id: "helper", status: "retired" }) });
    repo.commitAll("retire helper");

    const drift = await runCli(["drift", "--format", "json"], repo.root);
    expect(drift.code).toBe(1);
    expect(JSON.parse(drift.stdout)).toMatchObject({ drift: true, findings: [{ provider: "local", agent: "helper", kind: "retired-identity" }] });
    expect((await runCli(["drift", "--ref", "HEAD~1"], repo.root)).code).toBe(0);

    expect((await runCli(["sync"], repo.root)).code).toBe(0);
    expect((await runCli(["drift"], repo.root)).code).toBe(0);
  });

  it("plan and drift create nothing: a registry path that does not exist is not read as an empty registry", async () => {
    const mistyped = state.file("typo/local.db");
    process.env["CHARTER_LOCAL_DB"] = mistyped;

    const drift = await runCli(["drift"], repo.root);
    expect(drift.code).toBe(2);
    expect(drift.stderr).toContain(`the local registry ${mistyped} does not exist`);
    expect(drift.stdout).toBe("");

    const plan = await runCli(["plan"], repo.root);
    expect(plan.code).toBe(0);
    expect(plan.stderr).toContain(`the local registry ${mistyped} does not exist yet: planned as if it were empty`);
    expect(plan.stdout).toContain("5 operations, 0 findings");

    const token = await runCli(["token", "issue", "review"], repo.root);
    expect(token.code).toBe(2);
    expect(token.stderr).toContain("does not exist");

    expect(existsSync(dirname(mistyped))).toBe(false);
    // sync is the command that creates it.
    expect((await runCli(["sync"], repo.root)).code).toBe(0);
    expect(existsSync(mistyped)).toBe(true);
    const before = readFileSync(mistyped);
    expect(await runCli(["drift"], repo.root)).toMatchObject({ code: 0, stdout: expect.stringContaining("no drift") as string });
    expect(readFileSync(mistyped).equals(before)).toBe(true);
  });

  it("refuses to provision invalid manifests or without the configured providers' secrets", async () => {
    repo.write({ "agents/helper/agent.yaml": manifestText(HELPER).replace("maxLifetime: 1h", "maxLifetime: forever") });
    const invalid = await runCli(["sync"], repo.root);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain("Run charter validate");

    repo.write({ "agents/helper/agent.yaml": manifestText(HELPER), ".github/charter.yml": "version: 1\nprovisioning:\n  providers:\n    postgres:\n      - instance: crm-prod\n" });
    const noUrl = await runCli(["plan"], repo.root);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain("CHARTER_POSTGRES_URL_CRM_PROD is not set");

    delete process.env["CHARTER_LOCAL_DB"];
    const noDb = await runCli(["drift"], repo.root);
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toContain("CHARTER_LOCAL_DB is not set");
  });

  it("reports an unreachable provider without its password", async () => {
    repo.write({ ".github/charter.yml": "version: 1\nprovisioning:\n  providers:\n    postgres:\n      - instance: crm-prod\n" });
    process.env["CHARTER_POSTGRES_URL_CRM_PROD"] = "postgres://charter:pa55-unreachable@127.0.0.1:1/crm";
    // The sync writes the local registry (and fails on PostgreSQL), so drift has a registry to read.
    const synced = await runCli(["sync", "--format", "json"], repo.root);
    expect(synced.code).toBe(1);
    expect(synced.stdout).not.toContain("pa55-unreachable");
    expect(JSON.parse(synced.stdout)).toMatchObject({ outcome: "failed", verification: { escalations: [{ provider: "postgres", instance: "crm-prod", agent: "*" }] } });
    for (const command of ["plan", "drift"]) {
      const result = await runCli([command], repo.root);
      // A check that could not run is 2 for every command; for drift, 1 means drift was found.
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("postgres@crm-prod: could not read the provider's state");
      expect(result.stderr).not.toContain("pa55-unreachable");
    }
  });

  it("escalates a permission nothing enforces: sync is incomplete and exits 1", async () => {
    repo.write(agentTree([{ id: "db-reader", permissions: ["postgres:select:crm.public.orders@crm-prod"] }]));
    const result = await runCli(["sync"], repo.root);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('charter  db-reader  unenforceable-permission: no configured provider enforces "postgres:select:crm.public.orders@crm-prod"');
  });
});

describe("charter token", () => {
  it("prints a token on stdout only, which the printed JWKS verifies, with the agent's exact permissions", async () => {
    await runCli(["sync"], repo.root);
    const issued = await runCli(["token", "issue", "review", "--ttl", "5m"], repo.root);
    expect(issued.code).toBe(0);
    expect(issued.stderr).toBe("");
    expect(issued.stdout).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/);

    const keys = await runCli(["token", "jwks"], repo.root);
    expect(keys.code).toBe(0);
    const verified = verifyToken(issued.stdout.trim(), JSON.parse(keys.stdout) as { keys: [] }, { now: new Date(), issuer: "acme-charter" });
    expect(verified.ok).toBe(true);
    if (!verified.ok) return;
    expect(verified.claims.sub).toBe("review");
    expect(verified.claims.permissions).toEqual(["github:contents:read:acme/app", "http:post:api.example.com/v1/comments"]);
    expect(verified.claims.exp - verified.claims.iat).toBe(300);
  });

  it("explains an unknown agent, a ttl above the manifest's limit, a retired agent and a missing key", async () => {
    await runCli(["sync"], repo.root);
    const unknown = await runCli(["token", "issue", "nobody"], repo.root);
    expect(unknown).toMatchObject({ code: 2, stdout: "" });
    expect(unknown.stderr).toContain('no agent "nobody" in the local registry');

    const tooLong = await runCli(["token", "issue", "review", "--ttl", "1h"], repo.root);
    expect(tooLong).toMatchObject({ code: 2, stdout: "" });
    expect(tooLong.stderr).toContain("would outlive");
    expect(tooLong.stderr).toContain("Ask for a shorter --ttl");

    repo.write({ "agents/helper/agent.yaml": manifestText({ id: "helper", status: "retired" }) });
    await runCli(["sync"], repo.root);
    const retired = await runCli(["token", "issue", "helper"], repo.root);
    expect(retired).toMatchObject({ code: 2, stdout: "" });
    expect(retired.stderr).toContain('agent "helper" is retired');

    delete process.env["CHARTER_TOKEN_SIGNING_KEY"];
    const noKey = await runCli(["token", "issue", "review"], repo.root);
    expect(noKey).toMatchObject({ code: 2, stdout: "" });
    expect(noKey.stderr).toContain("CHARTER_TOKEN_SIGNING_KEY is not set");
    expect(noKey.stderr).toContain("openssl genpkey -algorithm ed25519");
  });
});
