import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { LocalProvider, LocalRegistry } from "../../src/providers/local/index.js";
import { desiredState } from "../../src/provision/desired-state.js";
import { sync } from "../../src/provision/engine.js";
import { createIngestToken } from "../../src/sources/ingest-tokens.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import { eventFromBytes } from "../../src/trail/event-bytes.js";
import type { TrailEvent } from "../../src/trail/event.js";
import { restClient } from "../github-sim/rest-client.js";
import { GitHubSimulator } from "../github-sim/index.js";
import { type AgentSpec, agentTree, checkedAgents, COMMIT_A, tempDir, type TempDir } from "../helpers/provisioning.js";
import { type CharterProcess, startCharterProcess } from "../helpers/start-charter-process.js";

/**
 * POST /api/credentials/github in Charter's own process, started as npm start starts it: agents
 * present their ingest tokens and get GitHub installation tokens from the simulator, which
 * checks every request against GitHub's OpenAPI description and keeps its own record of each
 * token's scope.
 */
const KEYS = generateSignerKey("charter-test-github-credentials");
const READER: AgentSpec = { id: "gh-reader", permissions: ["github:contents:read:acme/web-app"] };
const WRITER: AgentSpec = { id: "gh-writer", permissions: ["github:contents:write:acme/billing", "github:issues:write:acme/billing", "github:contents:write:acme/infra", "github:issues:write:acme/infra"] };
const PLAIN: AgentSpec = { id: "no-github", permissions: [] };
const GONE: AgentSpec = { id: "gh-gone", permissions: ["github:contents:read:acme/web-app"] };

let sim: GitHubSimulator;
let closeSim: (() => Promise<void>) | undefined;
// Undefined until each has started: afterAll stops what a failed beforeAll did start.
let running: CharterProcess | undefined;
let dir: TempDir | undefined;
let trailDb: string;
const tokens: Record<string, string> = {};
const handedOut: string[] = [];

beforeAll(async () => {
  const temp = tempDir();
  dir = temp;
  sim = await GitHubSimulator.create();
  for (const name of ["web-app", "billing", "infra"]) await sim.createRepository({ owner: "acme", name, files: { "a.txt": `${name}\n` } });
  const http = await sim.listen();
  closeSim = async () => {
    await http.close();
    await sim.close();
  };
  const registry = LocalRegistry.open(temp.file("registry.db"));
  const provider = new LocalProvider({ registry });
  try {
    for (const specs of [[READER, WRITER, PLAIN, GONE], [READER, WRITER, PLAIN, { ...GONE, status: "retired" as const }]]) {
      const agents = await checkedAgents(agentTree(specs));
      expect((await sync([provider], desiredState(agents, COMMIT_A, [provider]), { prune: false })).outcome).toBe("converged");
    }
  } finally {
    await provider.close();
  }
  trailDb = temp.file("trail.sqlite");
  const store = openSqliteTrail(trailDb);
  for (const agent of ["gh-reader", "gh-writer", "no-github", "gh-gone"]) tokens[agent] = (await createIngestToken(store, { kind: "agent", agent })).token;
  tokens["gateway"] = (await createIngestToken(store, { kind: "source", instance: "payments-gateway" })).token;
  const revoked = await createIngestToken(store, { kind: "agent", agent: "gh-reader" });
  await store.revokeToken(revoked.record.id, Date.now());
  tokens["revoked"] = revoked.token;
  await store.close();
  running = await startCharterProcess(sim, {
    simUrl: http.url,
    signingKey: KEYS.signerKey,
    env: { CHARTER_QUEUE_DB: temp.file("queue.sqlite"), CHARTER_TRAIL_DB: trailDb, CHARTER_LOCAL_DB: temp.file("registry.db"), CHARTER_GITHUB_API_URL: http.url, CHARTER_DETECTION: "off" },
  });
});
afterAll(async () => {
  await running?.kill();
  await closeSim?.();
  dir?.remove();
});

interface Answer {
  readonly token?: string;
  readonly expires_at?: string;
  readonly repositories?: string[];
  readonly permissions?: Record<string, string>;
  readonly error?: string;
}

function appUrl(): string {
  if (running === undefined) throw new Error("the app did not start");
  return running.url;
}

async function ask(bearer: string | undefined, body?: string): Promise<{ status: number; body: Answer }> {
  const response = await fetch(`${appUrl()}/api/credentials/github`, {
    method: "POST",
    headers: { ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }), "content-type": "application/json" },
    ...(body === undefined ? {} : { body }),
  });
  const json = (await response.json()) as Answer;
  if (typeof json.token === "string") handedOut.push(json.token);
  return { status: response.status, body: json };
}

async function trailEvents(): Promise<TrailEvent[]> {
  const store = openSqliteTrail(trailDb);
  try {
    return (await store.readChain(1, 10_000)).map((l) => eventFromBytes(l.bytes, l.hash.toString("hex")));
  } finally {
    await store.close();
  }
}

describe("GitHub tokens from the running app", () => {
  it("give an agent exactly its approved scope, as GitHub itself records the token", async () => {
    const answer = await ask(tokens["gh-reader"], "{}");
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ repositories: ["acme/web-app"], permissions: { contents: "read" } });
    const token = String(answer.body.token);
    expect(sim.installationTokenScope(token)).toEqual({ permissions: { contents: "read" }, repositories: ["acme/web-app"] });
    const lifetime = Date.parse(String(answer.body.expires_at)) - Date.now();
    expect(lifetime).toBeGreaterThan(3500 * 1000);
    expect(lifetime).toBeLessThanOrEqual(3600 * 1000);
    const api = restClient(sim, token);
    expect((await api("GET", "/repos/acme/web-app/contents/a.txt")).status).toBe(200);
    expect((await api("POST", "/repos/acme/web-app/git/blobs", { content: "x", encoding: "utf-8" })).status).toBe(403);
    expect((await api("GET", "/repos/acme/billing/contents/a.txt")).status).toBe(404);
  });

  it("give another agent its own scope only: the reader's token never reaches the writer's repositories", async () => {
    const writer = await ask(tokens["gh-writer"]);
    expect(writer.status).toBe(200);
    expect(sim.installationTokenScope(String(writer.body.token))).toEqual({ permissions: { contents: "write", issues: "write" }, repositories: ["acme/billing", "acme/infra"] });
    // The reader asking for the writer's repository or its permission: wider than approved.
    for (const body of [{ repository: "acme/billing" }, { permissions: { contents: "write" } }, { repository: "acme/web-app", permissions: { contents: "read", issues: "write" } }]) {
      const answer = await ask(tokens["gh-reader"], JSON.stringify(body));
      expect(answer.status).toBe(403);
      expect(answer.body.token).toBeUndefined();
      expect(String(answer.body.error)).toMatch(/gh-reader/);
    }
  });

  it("narrow a token on request, to one repository and fewer permissions, never wider", async () => {
    const answer = await ask(tokens["gh-writer"], JSON.stringify({ repository: "acme/infra", permissions: { contents: "read" } }));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ repositories: ["acme/infra"], permissions: { contents: "read" } });
    expect(sim.installationTokenScope(String(answer.body.token))).toEqual({ permissions: { contents: "read" }, repositories: ["acme/infra"] });
    const wider = await ask(tokens["gh-writer"], JSON.stringify({ repository: "acme/infra", permissions: { administration: "write" } }));
    expect(wider.status).toBe(403);
  });

  it("refuse unknown, revoked, forged and source tokens, agents without github permissions, retired agents and malformed bodies", async () => {
    const forged = `charter_it_${"0".repeat(16)}_${"A".repeat(43)}`;
    for (const bearer of [undefined, "nonsense", forged, tokens["revoked"]]) {
      const answer = await ask(bearer);
      expect(answer.status).toBe(401);
      expect(answer.body.token).toBeUndefined();
    }
    expect((await ask(tokens["gateway"])).status).toBe(403);
    const plain = await ask(tokens["no-github"]);
    expect(plain.status).toBe(403);
    expect(String(plain.body.error)).toMatch(/no approved github permission/);
    const gone = await ask(tokens["gh-gone"]);
    expect(gone.status).toBe(403);
    expect(String(gone.body.error)).toMatch(/retired/);
    for (const body of ["not json", "[]", JSON.stringify({ repository: 7 }), JSON.stringify({ scope: "all" }), JSON.stringify({ permissions: { contents: "admin" } }), JSON.stringify({ permissions: ["contents"] })]) {
      expect((await ask(tokens["gh-writer"], body)).status).toBe(400);
    }
    // The writer has one permission set across two repositories: one token; more would need a repository.
    expect((await fetch(`${appUrl()}/api/credentials/github`, { headers: { authorization: `Bearer ${tokens["gh-writer"]}` } })).status).toBe(405);
  });

  it("record each token in the trail as an attested token-issued event of its agent, with its scope and expiry, never the token", async () => {
    const issued = (await trailEvents()).filter((e) => e.source === "github-token");
    const reader = issued.filter((e) => e.agent === "gh-reader");
    expect(reader).toHaveLength(1);
    expect(reader[0]).toMatchObject({ attested: true, action: "token-issued", system: "github", resource: "acme/web-app", outcome: "allowed", flags: [] });
    expect(reader[0]?.detail).toMatchObject({ permissions: "contents:read", repositories: "1" });
    expect(reader[0]?.detail["credential"]).toMatch(/^github:[0-9a-f-]{36}$/);
    expect(Date.parse(reader[0]?.detail["expiresAt"] ?? "")).toBeGreaterThan(Date.now());
    // The writer's two tokens: one event per repository each, under one credential id per token.
    const writer = issued.filter((e) => e.agent === "gh-writer");
    expect(writer.map((e) => [e.resource, e.detail["permissions"]])).toEqual([
      ["acme/billing", "contents:write,issues:write"],
      ["acme/infra", "contents:write,issues:write"],
      ["acme/infra", "contents:read"],
    ]);
    expect(new Set(writer.map((e) => e.detail["credential"])).size).toBe(2);
    // Refused requests issue nothing and record nothing.
    expect(issued.filter((e) => e.agent !== "gh-reader" && e.agent !== "gh-writer")).toEqual([]);
    expect(handedOut).toHaveLength(3);
    const path = dir?.path ?? "";
    const files = readdirSync(path).filter((name) => name.startsWith("trail.sqlite") || name.startsWith("registry.db"));
    expect(files).toContain("trail.sqlite");
    const bytes = files.map((f) => readFileSync(join(path, f)).toString("latin1")).join("\n");
    for (const token of handedOut) expect(bytes).not.toContain(token);
  });
});
