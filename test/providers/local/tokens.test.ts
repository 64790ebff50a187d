import { generateKeyPairSync } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isCharterError } from "../../../src/errors.js";
import { issueToken, jwks, LocalProvider, LocalRegistry, loadSigningKey, verifyToken } from "../../../src/providers/local/index.js";
import { desiredState } from "../../../src/provision/desired-state.js";
import { sync } from "../../../src/provision/engine.js";
import type { AgentSpec } from "../../helpers/provisioning.js";
import { agentTree, checkedAgents, COMMIT_A, COMMIT_B, signingKeyPem, tempDir, type TempDir } from "../../helpers/provisioning.js";

const NOW = new Date("2026-11-27T10:00:00Z");
const NOW_S = NOW.getTime() / 1000;

let dir: TempDir;
let registry: LocalRegistry;
let provider: LocalProvider;
const key = loadSigningKey(signingKeyPem());

async function provision(specs: readonly AgentSpec[], commit = COMMIT_A) {
  const agents = await checkedAgents(agentTree(specs));
  return sync([provider], desiredState(agents, commit, [provider]), { prune: false });
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isCharterError(error) ? error.code : `not a CharterError: ${String(error)}`;
  }
  return undefined;
}

beforeEach(() => {
  dir = tempDir();
  registry = LocalRegistry.open(dir.file("registry.db"));
  provider = new LocalProvider({ registry, now: () => NOW });
});

afterEach(async () => {
  await provider.close();
  dir.remove();
});

const REVIEWER: AgentSpec = { id: "code-review", maxLifetime: "15m", permissions: ["github:contents:read:acme/web-app", "http:post:api.payments.example/v1/refunds", "github:pull_requests:write:acme/web-app"] };

describe("agent tokens", () => {
  it("carry exactly the provisioned permissions, the agent and its manifest hash, and live no longer than the manifest allows", async () => {
    const agents = await checkedAgents(agentTree([REVIEWER]));
    expect((await provision([REVIEWER])).outcome).toBe("converged");
    const { token, claims } = issueToken(registry, key, "code-review", { issuer: "charter-test", now: NOW });

    expect(claims).toEqual({
      iss: "charter-test",
      sub: "code-review",
      iat: NOW_S,
      exp: NOW_S + 15 * 60,
      jti: claims.jti,
      manifest_sha256: agents[0]?.manifestSha256,
      commit: COMMIT_A,
      permissions: ["github:contents:read:acme/web-app", "github:pull_requests:write:acme/web-app", "http:post:api.payments.example/v1/refunds"],
    });
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    const header = JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString()) as unknown;
    expect(header).toEqual({ alg: "EdDSA", typ: "JWT", kid: key.kid });

    const verified = verifyToken(token, jwks(key), { now: NOW, issuer: "charter-test" });
    expect(verified).toEqual({ ok: true, claims });
    expect(registry.tokens("code-review")).toEqual([{ jti: claims.jti, agentId: "code-review", issuedAt: NOW_S, expiresAt: NOW_S + 900, revoked: false }]);
  });

  it("may be shortened with a ttl but never outlive the manifest's maxLifetime", async () => {
    await provision([REVIEWER]);
    const short = issueToken(registry, key, "code-review", { issuer: "charter", ttlSeconds: 60, now: NOW });
    expect(short.claims.exp - short.claims.iat).toBe(60);
    expect(codeOf(() => issueToken(registry, key, "code-review", { issuer: "charter", ttlSeconds: 901, now: NOW }))).toBe("OUT_OF_RANGE");
    expect(codeOf(() => issueToken(registry, key, "code-review", { issuer: "charter", ttlSeconds: 0, now: NOW }))).toBe("USAGE");
  });

  it("expire: a verifier whose clock is at or past exp refuses them", async () => {
    await provision([REVIEWER]);
    const { token, claims } = issueToken(registry, key, "code-review", { issuer: "charter", now: NOW });
    expect(verifyToken(token, jwks(key), { now: new Date((claims.exp - 1) * 1000) }).ok).toBe(true);
    expect(verifyToken(token, jwks(key), { now: new Date(claims.exp * 1000) })).toEqual({ ok: false, reason: "expired" });
    expect(verifyToken(token, jwks(key), { now: new Date((claims.iat - 5) * 1000) })).toEqual({ ok: false, reason: "not-yet-valid" });
  });

  it("are refused when tampered with, signed by another key, unsigned, or from another issuer", async () => {
    await provision([REVIEWER]);
    const { token } = issueToken(registry, key, "code-review", { issuer: "charter", now: NOW });
    const [header = "", payload = "", signature = ""] = token.split(".");

    const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as { permissions: string[] };
    claims.permissions.push("github:contents:write:acme/web-app");
    const widened = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
    expect(verifyToken(widened, jwks(key), { now: NOW })).toEqual({ ok: false, reason: "bad-signature" });

    const other = loadSigningKey(signingKeyPem());
    expect(verifyToken(token, jwks(other), { now: NOW })).toEqual({ ok: false, reason: "unknown-key" });
    // Another key published under this key's kid still fails on the signature.
    expect(verifyToken(token, { keys: [{ ...other.publicJwk, kid: key.kid }] }, { now: NOW })).toEqual({ ok: false, reason: "bad-signature" });

    const none = `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT", kid: key.kid })).toString("base64url")}.${payload}.${signature}`;
    expect(verifyToken(none, jwks(key), { now: NOW })).toEqual({ ok: false, reason: "unsupported-algorithm" });
    expect(verifyToken(`${header}.${payload}`, jwks(key), { now: NOW })).toEqual({ ok: false, reason: "malformed" });
    expect(verifyToken(token, jwks(key), { now: NOW, issuer: "someone-else" })).toEqual({ ok: false, reason: "wrong-issuer" });
  });

  it("are revoked with their agent: retirement revokes the identity and every token, and no new token is issued", async () => {
    await provision([REVIEWER]);
    const first = issueToken(registry, key, "code-review", { issuer: "charter", now: NOW });
    const second = issueToken(registry, key, "code-review", { issuer: "charter", ttlSeconds: 60, now: NOW });

    const result = await provision([{ id: "code-review", status: "retired" }], COMMIT_B);
    expect(result.outcome).toBe("converged");
    expect(result.applied).toEqual([{ provider: "local", agent: "code-review", action: "deprovision", target: "identity:code-review", status: "applied" }]);

    expect(registry.identity("code-review")).toMatchObject({ status: "revoked", permissions: [], revokedAt: NOW.toISOString(), unrevokedTokens: 0 });
    expect(registry.tokens("code-review").every((t) => t.revoked)).toBe(true);
    const revoked = registry.revokedTokenIds(NOW_S);
    expect(revoked).toEqual([first.claims.jti, second.claims.jti].sort());
    expect(verifyToken(first.token, jwks(key), { now: NOW, revoked })).toEqual({ ok: false, reason: "revoked" });
    expect(verifyToken(second.token, jwks(key), { now: NOW, revoked: new Set(revoked) })).toEqual({ ok: false, reason: "revoked" });
    expect(codeOf(() => issueToken(registry, key, "code-review", { issuer: "charter", now: NOW }))).toBe("REVOKED");
  });

  it("are refused for an agent the registry does not know", () => {
    expect(codeOf(() => issueToken(registry, key, "nobody", { issuer: "charter", now: NOW }))).toBe("NOT_FOUND");
  });
});

describe("signing keys", () => {
  it("must be Ed25519 private keys, and a missing one names the variable", () => {
    expect(codeOf(() => loadSigningKey(undefined))).toBe("MISSING_SECRET");
    expect(codeOf(() => loadSigningKey("not a key"))).toBe("INVALID_KEY");
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    expect(codeOf(() => loadSigningKey(rsa))).toBe("INVALID_KEY");
  });

  it("publish an OKP JWK whose kid is its RFC 7638 thumbprint", () => {
    const { keys } = jwks(key);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig", kid: key.kid });
    expect(keys[0]?.x).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(keys)).not.toContain('"d"');
  });
});
