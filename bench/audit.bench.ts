import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLedgerSource } from "../src/audit/ledger-source.js";
import { type ManifestFacts, manifestFacts } from "../src/audit/manifest-facts.js";
import { agentAt, currentAgents, queryChanges, queryExceptions } from "../src/audit/queries.js";
import { openSqliteIndex } from "../src/audit/sqlite-index.js";
import { updateIndex } from "../src/audit/update-index.js";
import type { EvidenceRecord } from "../src/evidence/evidence-record.generated.js";
import { median, report, round, time } from "./measure.js";
import { syntheticLedger } from "./audit-ledger.js";

const RECORDS = Number(process.env["CHARTER_BENCH_AUDIT_RECORDS"] ?? 1_000_000);
const AGENTS = Number(process.env["CHARTER_BENCH_AUDIT_AGENTS"] ?? Math.max(20, Math.round(RECORDS / 500)));
const QUERY_ROUNDS = 15;
const SCAN_ROUNDS = 1;
const DAY_MS = 86_400_000;

/**
 * The audit index over a synthetic ledger (default 1,000,000 records, 2,000 agents, five
 * years): how long the SQLite index takes to build, then each audit query against the same
 * answer computed by a linear scan of the stored records (decode and JSON.parse each, as
 * charter evidence export does), in the same run. The scan is given every manifest copy already
 * parsed, so it pays only for reading the records. Each query's answer is checked against its
 * scan's before anything is reported. Generating the ledger is not measured.
 */
export async function run(): Promise<void> {
  const ledger = syntheticLedger(RECORDS, AGENTS);
  const bytes = ledger.records.reduce((sum, r) => sum + r.length, 0);
  const dir = mkdtempSync(join(tmpdir(), "charter-audit-bench-"));
  const store = openSqliteIndex(join(dir, "audit.sqlite"));
  try {
    const buildMs = await time(() => updateIndex(store, memoryLedgerSource(ledger.records, ledger.objects), { batchSize: 10_000 }));
    report({
      bench: "audit/build",
      records: RECORDS,
      agents: AGENTS,
      bytes,
      distinct_manifests: ledger.objects.size,
      build_ms: round(buildMs),
      records_per_s: Math.round(RECORDS / (buildMs / 1000)),
      index_bytes: statSync(join(dir, "audit.sqlite")).size + walSize(dir),
    });

    const facts = new Map<string, ManifestFacts | null>([...ledger.objects].map(([sha, b]) => [sha, manifestFacts(b)]));
    const decoder = new TextDecoder();
    const scan = (visit: (record: EvidenceRecord) => void): void => {
      for (const r of ledger.records) visit(JSON.parse(decoder.decode(r)) as EvidenceRecord);
    };
    const lastYear = ledger.end - 365 * DAY_MS;
    const dataClass = "payment-card";
    const reviewer = ledger.reviewers[7] ?? "";
    const agent = ledger.agents[Math.floor(ledger.agents.length / 3)] ?? "";
    const at = ledger.start + Math.floor((ledger.end - ledger.start) * 0.6);

    await measure(
      "changes-window-data-class",
      `changes merged in the last 12 months to agents holding ${dataClass}`,
      async () => (await queryChanges(store, { since: lastYear, until: ledger.end, dataClass })).map((c) => c.seq),
      () => {
        const out: number[] = [];
        const known = new Map<string, readonly string[]>();
        scan((r) => {
          if (r.kind !== "change") return;
          const merged = Date.parse(r.body.mergedAt);
          for (const a of r.body.changes.agents) {
            const sha = r.body.files.hashes[`agents/${a}/agent.yaml`];
            const classes = sha === undefined ? undefined : facts.get(sha)?.dataClasses;
            const touched = [...(known.get(a) ?? []), ...(classes ?? [])];
            if (classes !== undefined) known.set(a, classes);
            if (merged >= lastYear && merged < ledger.end && touched.includes(dataClass) && out.at(-1) !== r.seq) out.push(r.seq);
          }
        });
        return out;
      },
    );
    await measure(
      "changes-by-approver",
      `every change ${reviewer} approved`,
      async () => (await queryChanges(store, { approver: reviewer })).map((c) => c.seq),
      () => {
        const out: number[] = [];
        scan((r) => {
          if (r.kind === "change" && r.body.approvals.some((a) => a.reviewer === reviewer)) out.push(r.seq);
        });
        return out;
      },
    );
    await measure(
      "agent-at",
      `${agent} as of ${new Date(at).toISOString()}`,
      async () => {
        const answer = await agentAt(store, agent, at);
        return [answer.version?.seq ?? -1, ...answer.exceptions.map((e) => e.seq)];
      },
      () => {
        let version = -1;
        let versionMs = 0;
        let exceptions: number[] = [];
        scan((r) => {
          if (r.kind === "change" && r.body.changes.agents.includes(agent) && Date.parse(r.body.mergedAt) <= at) {
            version = r.seq;
            versionMs = Date.parse(r.body.mergedAt);
            exceptions = [];
          } else if (r.kind === "exception" && r.body.agents.includes(agent)) {
            const ms = Date.parse(r.observedAt);
            if (ms > versionMs && ms <= at) exceptions.push(r.seq);
          }
        });
        return [version, ...exceptions];
      },
    );
    await measure(
      "exceptions",
      "exceptions of the last 12 months (bypasses, pushes, overdue retro-reviews) and open drift",
      async () => (await queryExceptions(store, { since: lastYear, until: ledger.end, now: ledger.end, retroDays: 7 })).map((e) => `${e.type}:${e.seq}:${e.agents}`).sort(),
      () => {
        const out: string[] = [];
        const emergencies = new Map<number, { ms: number; agents: string; completed: boolean; overdue: boolean }>();
        const drift = new Map<string, number>();
        scan((r) => {
          if (r.kind === "exception") {
            const ms = Date.parse(r.observedAt);
            if (ms >= lastYear && ms < ledger.end) out.push(`${r.body.kind}:${r.seq}:${r.body.agents.join(" ")}`);
          } else if (r.kind === "change" && r.body.emergency.active) {
            emergencies.set(r.seq, { ms: Date.parse(r.body.mergedAt), agents: r.body.changes.agents.join(" "), completed: false, overdue: false });
          } else if (r.kind === "retro-approval") {
            const e = emergencies.get(r.body.emergency.seq);
            if (e && r.body.outcome === "completed") e.completed = true;
            if (e && r.body.outcome === "overdue") e.overdue = true;
          } else if (r.kind === "drift") {
            for (const f of r.body.findings) drift.set(f.agent, r.seq);
          } else if (r.kind === "provisioning" && r.body.outcome === "converged") {
            for (const a of r.body.agents) drift.delete(a);
          }
        });
        for (const [seq, e] of emergencies) {
          if (e.ms >= lastYear && e.ms < ledger.end && !e.completed && (e.overdue || e.ms + 7 * DAY_MS <= ledger.end)) out.push(`retro-review-overdue:${seq}:${e.agents}`);
        }
        for (const [a, seq] of drift) out.push(`drift-unresolved:${seq}:${a}`);
        return out.sort();
      },
    );
    await measure(
      "access-review",
      "every agent: owners, permissions, data classes, last change, last sync, drift",
      async () => (await currentAgents(store)).map((a) => `${a.agent}:${a.lastChangeSeq ?? -1}:${a.lastProvisioningSeq ?? -1}:${a.driftSeq !== null}:${a.permissions.length}`),
      () => {
        const state = new Map<string, { change: number; sync: number; drift: boolean; permissions: number }>();
        const get = (a: string) => state.get(a) ?? { change: -1, sync: -1, drift: false, permissions: 0 };
        scan((r) => {
          if (r.kind === "change") {
            for (const a of r.body.changes.agents) {
              const sha = r.body.files.hashes[`agents/${a}/agent.yaml`];
              state.set(a, { ...get(a), change: r.seq, permissions: (sha === undefined ? undefined : facts.get(sha)?.permissions.length) ?? 0 });
            }
          } else if (r.kind === "provisioning") {
            for (const a of r.body.agents) state.set(a, { ...get(a), sync: r.seq, drift: r.body.outcome === "converged" ? false : get(a).drift });
          } else if (r.kind === "drift") {
            for (const f of r.body.findings) state.set(f.agent, { ...get(f.agent), drift: true });
          }
        });
        return [...state].sort(([a], [b]) => (a < b ? -1 : 1)).map(([a, s]) => `${a}:${s.change}:${s.sync}:${s.drift}:${s.permissions}`);
      },
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Times a query (median of several runs) and its linear scan, checks they agree, prints one line. */
async function measure(name: string, question: string, query: () => Promise<readonly unknown[]>, scanned: () => readonly unknown[]): Promise<void> {
  const answer = await query();
  const queryTimes: number[] = [];
  for (let i = 0; i < QUERY_ROUNDS; i++) queryTimes.push(await time(query));
  let expected: readonly unknown[] = [];
  const scanTimes: number[] = [];
  for (let i = 0; i < SCAN_ROUNDS; i++) scanTimes.push(await time(() => (expected = scanned())));
  if (JSON.stringify(answer) !== JSON.stringify(expected)) {
    throw new Error(`audit bench ${name}: the index answered ${answer.length} rows, the scan ${expected.length}`);
  }
  const queryMs = median(queryTimes);
  const scanMs = median(scanTimes);
  report({
    bench: `audit/${name}`,
    question,
    records: RECORDS,
    rows: answer.length,
    query_ms: round(queryMs, 3),
    baseline: "linear scan: decode and JSON.parse every stored record, then filter",
    scan_ms: round(scanMs),
    ratio: round(scanMs / queryMs),
  });
}

function walSize(dir: string): number {
  try {
    return statSync(join(dir, "audit.sqlite-wal")).size;
  } catch {
    return 0;
  }
}
