import { copyFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LedgerTip } from "../../src/evidence/ledger.js";
import { verifyInclusion } from "../../src/evidence/merkle.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import { chunkLines, packChunk } from "../../src/sources/trail-chunk.js";
import { chainHash, GENESIS_HASH } from "../../src/trail/event-bytes.js";
import { type BuiltLedger } from "../evidence/ledger-fixture.js";
import { evidenceRepo } from "../helpers/evidence-repo.js";
import { saveEnv } from "../helpers/saved-env.js";
import { anchorTrail } from "../helpers/trail-anchor.js";
import type { TempRepo } from "../helpers/temp-repo.js";
import { runCli } from "./run-cli.js";

let repo: TempRepo;
let ledger: BuiltLedger;
let restore: () => void;
let db: string;

function eventLine(n: number, over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    eventId: `evt-${n}`,
    eventTime: new Date(Date.parse("2026-03-03T14:00:00Z") + n * 1000).toISOString(),
    userIdentity: { type: "postgres-role", principalId: "charter_agent_support_triage" },
    eventSource: "postgres",
    eventName: "select",
    resources: [{ name: "crm.public.customers", instance: "crm-prod" }],
    ...over,
  });
}

function writeEvents(name: string, lines: string[]): string {
  // Outside the work tree: the anchoring below commits on the evidence branch.
  const path = join(repo.root, ".git", name);
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

/** Appends an anchor record for the trail's unanchored segments to the clone's evidence branch, as the app does through GitHub. */
async function anchor(tip: LedgerTip): Promise<LedgerTip> {
  return anchorTrail(repo, db, tip, ledger.signerKey);
}

async function ingestAndAnchor(count: number): Promise<void> {
  const file = writeEvents("events.ndjson", Array.from({ length: count }, (_, i) => eventLine(i)));
  const ingested = await runCli(["trail", "ingest", "--source", "events", "--instance", "gateway", "--attested", "--db", db, file], repo.root);
  expect(ingested.stderr).not.toContain("Error");
  expect(ingested.code).toBe(0);
  expect((await runCli(["trail", "seal", "--db", db], repo.root)).code).toBe(0);
  await anchor(ledger.tip);
}

function raw(fn: (sql: Database.Database) => void): void {
  const sql = new Database(db);
  try {
    fn(sql);
  } finally {
    sql.close();
  }
}

beforeEach(() => {
  ({ repo, ledger } = evidenceRepo(2));
  restore = saveEnv(["CHARTER_SIGNING_KEY"]);
  process.env["CHARTER_SIGNING_KEY"] = ledger.signerKey;
  db = join(repo.root, ".git", "trail.sqlite");
});
afterEach(() => {
  restore();
  repo.remove();
});

describe("charter trail ingest, seal, verify and prove", () => {
  it("ingests a file once however often it is given, and verifies against the anchors on the evidence branch", async () => {
    await ingestAndAnchor(50);
    const again = await runCli(["trail", "ingest", "--source", "events", "--instance", "gateway", "--attested", "--db", db, join(repo.root, ".git", "events.ndjson")], repo.root);
    expect(again.stderr).not.toContain("charter:");
    expect(again.stdout).toMatch(/^0 events stored, 50 already in the trail/);
    const verified = await runCli(["trail", "verify", "--db", db, "--key", ledger.verifierKey], repo.root);
    expect(verified.stdout).toMatch(/^OK {2}action trail charter-trail\/\S+ in .*: 50 events/);
    expect(verified.code).toBe(0);
  });

  it("names the bad line and field of a malformed file, and stores nothing of it", async () => {
    const file = writeEvents("bad.ndjson", [eventLine(1), eventLine(2, { eventTime: "yesterday" }), "{not json", eventLine(4, { extra: 1 })]);
    const result = await runCli(["trail", "ingest", "--source", "events", "--instance", "gateway", "--db", db, file], repo.root);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("line 2 /eventTime");
    expect(result.stderr).toContain("line 3: not JSON");
    expect(result.stderr).toContain('line 4 /extra: unknown key "extra"');
    const store = openSqliteTrail(db);
    expect((await store.tip()).seq).toBe(0);
    await store.close();
  });

  it("catches an edited event, and one whose editor recomputed every stored hash after it", async () => {
    await ingestAndAnchor(20);
    const pristine = join(repo.root, ".git", "pristine.sqlite");
    raw((sql) => sql.exec(`VACUUM INTO '${pristine}'`));
    const edit = (rehash: boolean) => (sql: Database.Database) => {
      const chunk = sql.prepare("SELECT first_seq, lines FROM chunks ORDER BY first_seq LIMIT 1").get() as { first_seq: number; lines: Buffer };
      const text = plain(chunk.lines).replace('"evt-7"', '"evt-X"');
      let hashes: Buffer | undefined;
      if (rehash) {
        let prev = GENESIS_HASH;
        hashes = Buffer.concat(text.trimEnd().split("\n").map((line) => Buffer.from((prev = chainHash(prev, Buffer.from(line))), "hex")));
      }
      // Written back compressed, as the store writes chunks (the other cases write plain lines, which the store also reads).
      sql.prepare("UPDATE chunks SET lines = ?, hashes = coalesce(?, hashes) WHERE first_seq = ?").run(packChunk(text.trimEnd().split("\n").map((l) => Buffer.from(l))), hashes ?? null, chunk.first_seq);
    };
    raw(edit(false));
    let report = JSON.parse((await runCli(["trail", "verify", "--db", db, "--key", ledger.verifierKey, "--format", "json"], repo.root)).stdout) as { problems: { code: string; seq?: number }[] };
    expect(report.problems).toEqual(expect.arrayContaining([expect.objectContaining({ code: "hash-mismatch", seq: 8 }), expect.objectContaining({ code: "segment-root-mismatch" })]));
    copyFileSync(pristine, db);
    rmSync(`${db}-wal`, { force: true });
    raw(edit(true));
    report = JSON.parse((await runCli(["trail", "verify", "--db", db, "--key", ledger.verifierKey, "--format", "json"], repo.root)).stdout) as { problems: { code: string; seq?: number }[] };
    // The chain is consistent again; only the anchored root, signed elsewhere, tells.
    expect(report.problems.map((p) => p.code)).not.toContain("hash-mismatch");
    expect(report.problems.map((p) => p.code)).toContain("segment-root-mismatch");
  });

  it("catches a deleted event, two events swapped, and a truncated trail", async () => {
    await ingestAndAnchor(20);
    const cases: [string, (sql: Database.Database) => void, string][] = [
      [
        "deleted",
        (sql) => {
          const c = sql.prepare("SELECT first_seq, lines, hashes FROM chunks").get() as { first_seq: number; lines: Buffer; hashes: Buffer };
          const lines = plain(c.lines).split("\n");
          lines.splice(4, 1);
          sql.prepare("UPDATE chunks SET lines = ?, hashes = ?, last_seq = last_seq - 1 WHERE first_seq = ?").run(Buffer.from(lines.join("\n")), Buffer.concat([c.hashes.subarray(0, 4 * 32), c.hashes.subarray(5 * 32)]), c.first_seq);
          sql.prepare("DELETE FROM events WHERE seq = 5").run();
        },
        // Event 6 now follows event 4, whose hash it was not chained to.
        "hash-mismatch",
      ],
      [
        "swapped",
        (sql) => {
          const c = sql.prepare("SELECT first_seq, lines, hashes FROM chunks").get() as { first_seq: number; lines: Buffer; hashes: Buffer };
          const lines = plain(c.lines).split("\n");
          [lines[2], lines[3]] = [lines[3] ?? "", lines[2] ?? ""];
          sql.prepare("UPDATE chunks SET lines = ? WHERE first_seq = ?").run(Buffer.from(lines.join("\n")), c.first_seq);
        },
        "seq-mismatch",
      ],
      [
        "truncated",
        (sql) => {
          sql.prepare("DELETE FROM chunks").run();
          sql.prepare("DELETE FROM events").run();
        },
        "truncated",
      ],
    ];
    const pristine = join(repo.root, ".git", "pristine.sqlite");
    raw((sql) => sql.exec(`VACUUM INTO '${pristine}'`));
    for (const [name, tamper, code] of cases) {
      // Each case starts from the untouched trail.
      copyFileSync(pristine, db);
      rmSync(`${db}-wal`, { force: true });
      rmSync(`${db}-shm`, { force: true });
      raw(tamper);
      const verified = await runCli(["trail", "verify", "--db", db, "--key", ledger.verifierKey, "--format", "json"], repo.root);
      const report = JSON.parse(verified.stdout) as { ok: boolean; problems: { code: string }[] };
      expect({ name, ok: report.ok }).toEqual({ name, ok: false });
      expect(report.problems.map((p) => p.code)).toContain(code);
    }
  });

  it("catches an event inserted with every later position and chain hash recomputed, and a trail cut at its tail", async () => {
    await ingestAndAnchor(20);
    const pristine = join(repo.root, ".git", "pristine.sqlite");
    raw((sql) => sql.exec(`VACUUM INTO '${pristine}'`));
    const withSeq = (line: string, seq: number) => line.replace(/,"seq":\d+(?!.*,"seq":)/, `,"seq":${String(seq)}`);
    const cases: [string, (sql: Database.Database) => void, string, string[]][] = [
      [
        "inserted",
        (sql) => {
          // A forged read slipped in after event 10; everything after it moves up one and is
          // re-chained, so the chain and the positions are consistent again.
          const c = sql.prepare("SELECT first_seq, lines FROM chunks").get() as { first_seq: number; lines: Buffer };
          const lines = plain(c.lines).trimEnd().split("\n");
          const forged = withSeq((lines[9] ?? "").replace('"evt-9"', '"evt-forged"'), 11);
          const next = [...lines.slice(0, 10), forged, ...lines.slice(10).map((l, i) => withSeq(l, 12 + i))];
          let prev = GENESIS_HASH;
          const hashes = Buffer.concat(next.map((l) => Buffer.from((prev = chainHash(prev, Buffer.from(l))), "hex")));
          sql.prepare("UPDATE chunks SET lines = ?, hashes = ?, last_seq = last_seq + 1 WHERE first_seq = ?").run(Buffer.from(next.join("\n") + "\n"), hashes, c.first_seq);
          sql.prepare("INSERT INTO events SELECT 21, observed_ms + 1, id, agent, source, action, resource, principal, classes, bits, manifest_seq, trace FROM events WHERE seq = 20").run();
        },
        "segment-root-mismatch",
        ["hash-mismatch", "seq-mismatch", "index-count-mismatch"],
      ],
      [
        "cut at the tail",
        (sql) => {
          const c = sql.prepare("SELECT first_seq, lines, hashes FROM chunks").get() as { first_seq: number; lines: Buffer; hashes: Buffer };
          const lines = plain(c.lines).trimEnd().split("\n").slice(0, 15);
          sql.prepare("UPDATE chunks SET lines = ?, hashes = ?, last_seq = 15 WHERE first_seq = ?").run(Buffer.from(lines.join("\n") + "\n"), c.hashes.subarray(0, 15 * 32), c.first_seq);
          sql.prepare("DELETE FROM events WHERE seq > 15").run();
        },
        "truncated",
        ["hash-mismatch", "seq-mismatch"],
      ],
    ];
    for (const [name, tamper, code, consistent] of cases) {
      copyFileSync(pristine, db);
      rmSync(`${db}-wal`, { force: true });
      rmSync(`${db}-shm`, { force: true });
      raw(tamper);
      const verified = await runCli(["trail", "verify", "--db", db, "--key", ledger.verifierKey, "--format", "json"], repo.root);
      const report = JSON.parse(verified.stdout) as { ok: boolean; problems: { code: string }[] };
      expect({ name, ok: report.ok, code: verified.code }).toEqual({ name, ok: false, code: 1 });
      const codes = report.problems.map((p) => p.code);
      expect({ name, codes }).toEqual({ name, codes: expect.arrayContaining([code]) as unknown });
      // What the forger made consistent is not what gives them away.
      expect({ name, consistent: codes.filter((c) => consistent.includes(c)) }).toEqual({ name, consistent: [] });
    }
  });

  it("catches a query row edited behind the record with --deep", async () => {
    await ingestAndAnchor(10);
    raw((sql) => sql.prepare("UPDATE events SET bits = bits | 2 WHERE seq = 3").run());
    const shallow = await runCli(["trail", "verify", "--db", db, "--key", ledger.verifierKey], repo.root);
    expect(shallow.code).toBe(0);
    const deep = await runCli(["trail", "verify", "--deep", "--db", db, "--key", ledger.verifierKey], repo.root);
    expect(deep.code).toBe(1);
    expect(deep.stdout).toContain("column-mismatch at event 3");
  });

  it("fails on an anchor record edited out of canonical form, rather than leaving its segments unchecked", async () => {
    await ingestAndAnchor(10);
    expect((await runCli(["trail", "verify", "--db", db, "--key", ledger.verifierKey], repo.root)).code).toBe(0);
    // The anchor is the branch's last record; its text, stripped of the final newline, is no longer canonical.
    const path = repo.git("ls-tree", "-r", "--name-only", "charter-evidence", "records").trim().split("\n").sort().at(-1) ?? "";
    const text = repo.git("show", `charter-evidence:${path}`);
    expect(text).toContain('"kind":"trail-anchor"');
    repo.git("checkout", "-q", "charter-evidence");
    repo.write({ [path]: Buffer.from(text.trimEnd()) });
    repo.commitAll("edit the anchor");
    repo.git("checkout", "-q", "main");
    const seq = Number(/(\d+)\.json$/.exec(path)?.[1]);
    const verified = await runCli(["trail", "verify", "--db", db, "--key", ledger.verifierKey], repo.root);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain(`ledger-record-unreadable`);
    expect(verified.stdout).toContain(`evidence record ${String(seq)} is not canonical JSON`);
  });

  it("refuses checkpoints signed with another key", async () => {
    await ingestAndAnchor(5);
    const other = (await import("../../src/evidence/signed-note.js")).generateSignerKey("someone-else");
    const verified = await runCli(["trail", "verify", "--db", db, "--key", other.verifierKey], repo.root);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain("checkpoint-invalid");
  });

  it("prints an inclusion proof that verifies against the segment's signed root", async () => {
    await ingestAndAnchor(5000);
    const proved = await runCli(["trail", "prove", "--db", db, "4321"], repo.root);
    expect(proved.code).toBe(0);
    const answer = JSON.parse(proved.stdout) as { leafIndex: number; treeSize: number; proof: string[]; root: string; event: { hash: string; seq: number }; checkpoint: string };
    expect(answer.event.seq).toBe(4321);
    expect(answer.treeSize).toBe(5000);
    const ok = verifyInclusion(answer.leafIndex, answer.treeSize, Buffer.from(answer.event.hash, "hex"), answer.proof.map((h) => Buffer.from(h, "hex")), Buffer.from(answer.root, "hex"));
    expect(ok).toBe(true);
    expect(answer.checkpoint).toContain(`\n5000\n${Buffer.from(answer.root, "hex").toString("base64")}\n`);
  });
});

/** A stored chunk's lines as text (the store keeps them compressed). */
function plain(stored: Buffer): string {
  const lines = chunkLines(stored);
  if (lines === null) throw new Error("the stored chunk does not decode");
  return lines.toString("utf8");
}
