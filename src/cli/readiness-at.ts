import { prefixSource, ledgerDerivedFacts } from "../audit/readiness-ledger.js";
import type { LedgerSource } from "../audit/ledger-source.js";
import { openSqliteIndex } from "../audit/sqlite-index.js";
import { parseCanonical } from "../evidence/canonical-json.js";
import { recordPath } from "../evidence/ledger.js";
import { CharterError } from "../errors.js";
import { replayReadiness } from "../readiness/record-body.js";
import type { EvidenceRecord, ReadinessRecord } from "../schema-types/evidence-record.generated.js";
import { EXIT, type CliIo } from "./io.js";
import { policyAtHead, verifierKeys, verifyEvidenceBranch } from "./readiness-facts.js";
import { formatReadiness, type ReadinessFormat } from "./readiness-formats.js";

export interface ReadinessAtOptions {
  readonly root: string;
  readonly branch: string;
  readonly source: LedgerSource;
  readonly atMs: number;
  readonly keys: readonly string[];
  readonly witnesses: readonly string[];
  readonly minWitnesses: number;
  readonly format: ReadinessFormat;
}

const READ_BATCH = 1000;
const READINESS_KIND = Buffer.from('"kind":"readiness"');

function contains(bytes: Uint8Array, needle: Buffer): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(needle);
}

/** The last readiness record observed at or before `atMs`, in seq order (the verifier has refused a ledger whose times go back). */
async function recordInForce(source: LedgerSource, atMs: number): Promise<ReadinessRecord | null> {
  const size = await source.size();
  let found: ReadinessRecord | null = null;
  for (let from = 0; from < size; from += READ_BATCH) {
    for (const bytes of await source.read(from, Math.min(READ_BATCH, size - from))) {
      // Only a record holding the kind's bytes is parsed: a million-record ledger is read once, cheaply.
      if (!contains(bytes, READINESS_KIND)) continue;
      const record = parseCanonical(bytes) as EvidenceRecord;
      if (record.kind !== "readiness") continue;
      if (Date.parse(record.observedAt) > atMs) return found;
      found = record;
    }
  }
  return found;
}

/**
 * charter readiness --at: the report the readiness record in force at a date states, checked.
 * The branch is verified first as charter verify does (a record is evidence only on a ledger
 * that verifies); then the record's ledger-derived items are re-evaluated from the records
 * before it, read into a fresh index, with its frozen facts; any difference from what it states
 * is reported and fails the command. Needs nothing but a clone of the evidence branch.
 */
export async function readinessAt(o: ReadinessAtOptions, io: CliIo): Promise<number> {
  const policy = await policyAtHead(o.root, []);
  const { keys, keySource } = verifierKeys(o, policy);
  const { problems } = await verifyEvidenceBranch({ root: o.root, commit: o.source.commit, witnesses: o.witnesses, minWitnesses: o.minWitnesses }, keys, keySource);
  if (problems.length > 0) {
    for (const p of problems) io.err(`charter readiness: ${p.path === undefined ? "" : `${p.path}: `}${p.code}: ${p.message}\n`);
    io.err(`charter readiness: the ledger on ${o.branch} does not verify (charter verify --branch ${o.branch} shows the same): no record on it can be shown as evidence\n`);
    return EXIT.findings;
  }
  if (keySource === "branch") io.err(`charter readiness: checked only against the key ${o.branch} itself publishes; pass --key with the key from your documentation to know who signed it\n`);
  const record = await recordInForce(o.source, o.atMs);
  const at = new Date(o.atMs).toISOString();
  if (record === null) throw new CharterError("USAGE", `no readiness record on ${o.branch} was written at or before ${at}`, { hint: "The app writes one every CHARTER_READINESS_INTERVAL (default 7d); give a later --at, or run charter readiness on the live stores." });
  const index = openSqliteIndex(":memory:");
  let replayed;
  try {
    const body = record.body;
    const untilMs = Date.parse(body.period.until);
    const derived = await ledgerDerivedFacts(index, prefixSource(o.source, body.ledgerSize), { sinceMs: body.period.since === null ? null : Date.parse(body.period.since), untilMs, nowMs: untilMs, retroDays: body.retroDays });
    replayed = replayReadiness(body, derived);
  } finally {
    await index.close();
  }
  io.out(formatReadiness({ ...replayed.report, record: { seq: record.seq, path: recordPath(record.seq), observedAt: record.observedAt } }, o.format));
  io.err(`charter readiness: as of ${at}: record ${record.seq} (${recordPath(record.seq)}, written ${record.observedAt}), re-evaluated from the ${record.body.ledgerSize} records before it and its frozen facts\n`);
  if (replayed.asRecorded.length > 0) io.err(`charter readiness: ${replayed.asRecorded.join(", ")} shown as recorded: the record had to cut the facts they rest on to stay bounded\n`);
  if (replayed.disagreements.length > 0) {
    for (const d of replayed.disagreements) io.err(`charter readiness: record ${record.seq} disagrees with its evidence on ${d.item}: it states ${d.recorded}; recomputed: ${d.recomputed}\n`);
    return EXIT.findings;
  }
  return replayed.report.status === "pass" ? EXIT.ok : EXIT.findings;
}
