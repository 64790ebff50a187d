import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startRedis, type RedisServer } from "../../helpers/redis.js";
import { freePort } from "../../helpers/free-port.js";
import { agentTree, tempDir, type TempDir } from "../../helpers/provisioning.js";
import { saveEnv } from "../../helpers/saved-env.js";
import { tempRepo, type TempRepo } from "../../helpers/temp-repo.js";
import { runCli } from "../../cli/run-cli.js";
import { PROVISIONER, type RedisFixture, startRedisFixture } from "./fixture.js";

// charter plan, sync and drift end to end: manifests in a git repository, the policy's
// provisioning section, the URL from the environment, a real server.
const VARIABLE = "CHARTER_REDIS_URL_CACHE_PROD";
const POLICY = "version: 1\nprovisioning:\n  providers:\n    local:\n      enabled: false\n    redis:\n      - instance: cache-prod\n";
const CACHE = { id: "cache-reader", permissions: ["redis:read:cache:customers:*@cache-prod", "redis:write:cache:customers:*@cache-prod"] };

let f: RedisFixture;
let noAcl: RedisServer;
let repo: TempRepo;
let state: TempDir;
let restoreEnv: () => void = () => undefined;

beforeAll(async () => {
  f = await startRedisFixture();
  noAcl = await startRedis({ args: ["--rename-command", "ACL", ""] });
});
afterAll(async () => {
  await f.stop();
  await noAcl.stop();
});
beforeEach(() => {
  restoreEnv = saveEnv([VARIABLE]);
  repo = tempRepo({ ...agentTree([CACHE]), ".github/charter.yml": POLICY });
  repo.commitAll("one agent on redis");
  state = tempDir();
  process.env[VARIABLE] = f.provisionerUrl;
});
afterEach(() => {
  restoreEnv();
  repo.remove();
  state.remove();
});

describe("charter with a Redis provider", () => {
  it("syncs, finds a hand-made +@all as drift with the fix, and sync restores the approved state", async () => {
    expect(await runCli(["validate"], repo.root)).toMatchObject({ code: 0 });
    const synced = await runCli(["sync"], repo.root);
    expect(synced.stdout).toMatch(/converged \(1 operation applied/);
    expect(await runCli(["drift"], repo.root)).toMatchObject({ code: 0 });

    await f.admin.call("ACL", "SETUSER", "charter-agent-cache-reader", "+@all");
    const drift = await runCli(["drift", "--format", "json"], repo.root);
    expect(drift.code).toBe(1);
    const findings = (JSON.parse(drift.stdout) as { findings: { kind: string; detail: string }[] }).findings;
    expect(findings.map((x) => x.kind)).toEqual(["acl-rules"]);
    expect(findings[0]?.detail).toContain("a sync resets its rules");
    expect((await runCli(["sync"], repo.root)).code).toBe(0);
    expect(await runCli(["drift"], repo.root)).toMatchObject({ code: 0 });
  });

  it("explains a wrong port, a wrong password, a server without ACL and a missing URL, without a stack trace or the password", async () => {
    const port = await freePort();
    const cases: [string, string | undefined, RegExp][] = [
      ["wrong port", `redis://${PROVISIONER}:sekrit-wrong-port@127.0.0.1:${String(port)}/0`, /cannot connect to the Redis server at 127\.0\.0\.1:\d+ .*check the host and port in CHARTER_REDIS_URL_CACHE_PROD/],
      ["wrong password", f.provisionerUrl.replace(/:[0-9a-f]+@/, ":sekrit-wrong-password@"), /refused the user name or password in CHARTER_REDIS_URL_CACHE_PROD/],
      ["no ACL", noAcl.url, /has no ACL command .*Charter needs Redis 7\.0 or later/],
      ["not a URL", "sekrit-not-a-url", /CHARTER_REDIS_URL_CACHE_PROD is not a URL/],
      ["unset", undefined, /CHARTER_REDIS_URL_CACHE_PROD is not set/],
    ];
    for (const [name, url, message] of cases) {
      if (url === undefined) delete process.env["CHARTER_REDIS_URL_CACHE_PROD"];
      else process.env[VARIABLE] = url;
      for (const command of ["plan", "drift"]) {
        const result = await runCli([command], repo.root);
        expect(result.code, `${name} ${command}`).not.toBe(0);
        expect(result.stderr, `${name} ${command}`).toMatch(message);
        expect(result.stderr, name).not.toMatch(/\n\s+at |internal error/);
        expect(result.stderr + result.stdout, name).not.toMatch(/sekrit|[0-9a-f]{32}/);
      }
    }
  });
});
