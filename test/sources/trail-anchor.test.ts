import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { createIngestToken } from "../../src/sources/ingest-tokens.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import { chunkLines, packChunk } from "../../src/sources/trail-chunk.js";
import type { Segment } from "../../src/sources/trail-store.js";
import { runCli } from "../cli/run-cli.js";
import { GitHubSimulator } from "../github-sim/index.js";
import { ownAgents } from "../helpers/agents-fixture.js";
import { ledger } from "../helpers/evidence-branch.js";
import { type CharterProcess, startCharterProcess } from "../helpers/start-charter-process.js";
import { waitFor } from "../jobs/wait-for.js";

/**
 * The app seals what it ingests into signed segments and anchors them on the trail
 * repository's evidence branch, through GitHub, in as few records as it can: a backlog of
 * segments goes into one record. `charter trail verify` on a clone then checks the app's store
 * against those records.
 */
const KEYS = generateSignerKey("charter-test-trail-anchor");
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function segments(db: string): Promise<Segment[]> {
  const store = openSqliteTrail(db);
  try {
    return await store.segments();
  } finally {
    await store.close();
  }
}

describe("anchoring the trail on the evidence branch from the running app", () => {
  it("anchors a backlog of sealed segments in one record, and verify catches an edit of an anchored event", async () => {
    const dir = mkdtempSync(join(tmpdir(), "charter-trail-anchor-"));
    cleanups.push(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const db = join(dir, "trail.sqlite");
    const store = openSqliteTrail(db);
    const token = (await createIngestToken(store, { kind: "source", instance: "payments-gateway" })).token;
    await store.close();
    const sim = await GitHubSimulator.create();
    cleanups.push(() => sim.close());
    sim.addOrganization("acme");
    const repo = await sim.createRepository({ owner: "acme", name: "agents", files: ownAgents() });
    const http = await sim.listen();
    cleanups.push(() => http.close());
    // Detection off: its alerts about the unattributed principal would be logged into the trail
    // between the batches, and this test counts the segments' exact ranges.
    const start = async (env: Record<string, string>): Promise<CharterProcess> => {
      const app = await startCharterProcess(sim, { simUrl: http.url, signingKey: KEYS.signerKey, env: { CHARTER_DETECTION: "off", CHARTER_QUEUE_DB: join(dir, "queue.sqlite"), CHARTER_TRAIL_DB: db, CHARTER_TRAIL_SEAL_INTERVAL: "1s", ...env } });
      cleanups.push(() => app.kill());
      return app;
    };
    const post = async (app: CharterProcess, batch: number): Promise<void> => {
      const lines = Array.from({ length: 50 }, (_, i) =>
        JSON.stringify({ eventId: `b${String(batch)}-${String(i)}`, eventTime: new Date().toISOString(), userIdentity: { type: "account", principalId: "svc-refunds" }, eventSource: "http", eventName: "post", resources: [{ name: "api.payments.example/v1/refunds" }] }),
      );
      const response = await fetch(`${app.url}/api/trail/events`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson" }, body: lines.join("\n") + "\n" });
      expect(response.status).toBe(200);
      await response.body?.cancel();
    };

    // First without the trail repository: the app seals (it has the signing key) but cannot anchor.
    let app = await start({});
    for (let batch = 0; batch < 4; batch++) {
      await post(app, batch);
      await waitFor(async () => (await segments(db)).length === batch + 1, `segment ${String(batch)} sealed`);
    }
    await app.stop();
    expect((await segments(db)).map((s) => [s.fromSeq, s.toSeq, s.anchor])).toEqual([
      [1, 50, null],
      [51, 100, null],
      [101, 150, null],
      [151, 200, null],
    ]);

    // With it, the first round anchors the whole backlog in one record.
    app = await start({ CHARTER_TRAIL_REPOSITORY: "acme/agents", CHARTER_TRAIL_ANCHOR_INTERVAL: "1h" });
    await waitFor(async () => (await segments(db)).every((s) => s.anchor !== null), "every segment anchored");
    await app.stop();
    const anchors = ledger(sim, repo).filter((r) => r.kind === "trail-anchor");
    expect(anchors).toHaveLength(1);
    expect(anchors[0]?.kind === "trail-anchor" ? anchors[0].body.segments.map((s) => [s.index, s.fromSeq, s.toSeq]) : []).toEqual([
      [0, 1, 50],
      [1, 51, 100],
      [2, 101, 150],
      [3, 151, 200],
    ]);
    expect((await segments(db)).map((s) => s.anchor?.seq)).toEqual([anchors[0]?.seq, anchors[0]?.seq, anchors[0]?.seq, anchors[0]?.seq]);

    const clone = join(dir, "clone");
    execFileSync("git", ["clone", "-q", sim.repoPath(repo), clone]);
    const verified = await runCli(["trail", "verify", "--db", db, "--key", KEYS.verifierKey, "--format", "json"], clone);
    expect(verified.stderr).toBe("");
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, events: 200, anchoredThrough: 200 });

    // The operator rewrites one anchored event in the store: the anchor on GitHub tells.
    const sql = new Database(db);
    try {
      const chunk = sql.prepare("SELECT first_seq, lines FROM chunks ORDER BY first_seq LIMIT 1").get() as { first_seq: number; lines: Buffer };
      const text = chunkLines(chunk.lines)?.toString("utf8") ?? "";
      expect(text).toContain('"b0-7"');
      sql.prepare("UPDATE chunks SET lines = ? WHERE first_seq = ?").run(packChunk(text.trimEnd().split("\n").map((l) => Buffer.from(l.replace('"b0-7"', '"b0-X"')))), chunk.first_seq);
    } finally {
      sql.close();
    }
    const tampered = await runCli(["trail", "verify", "--db", db, "--key", KEYS.verifierKey, "--format", "json"], clone);
    expect(tampered.code).toBe(1);
    expect((JSON.parse(tampered.stdout) as { problems: { code: string }[] }).problems.map((p) => p.code)).toContain("segment-root-mismatch");
    // Two app starts and four seal rounds of a second each: more than the default on a busy machine.
  }, 180_000);
});
