import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalBytes, parseCanonical } from "../../src/evidence/canonical-json.js";
import { checkpointFor, idempotencyKey, recordPath, tipOf } from "../../src/evidence/ledger.js";
import {
  appendLeaf,
  consistencyProof,
  consistencyProofFromFrontier,
  EMPTY_FRONTIER,
  type Frontier,
  frontierRoot,
  leafHash,
  rootOf,
  verifyConsistency,
} from "../../src/evidence/merkle.js";
import { recordHash, validateRecord } from "../../src/evidence/record.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { verifyLedger } from "../../src/evidence/verify.js";
import { advanceWitness } from "../../src/evidence/witness.js";
import { isCharterError } from "../../src/errors.js";
import { ledgerOf } from "../helpers/evidence-repo.js";
import { changeBody, ORIGIN, REPOSITORY } from "./ledger-fixture.js";

/**
 * Property-based tests of the record parser and the verifier. The oracles are written here,
 * independently of the code under test: RFC 8785 serialization by its rules, the envelope rules
 * of schemas/evidence-record.schema.json read off the schema's text, and for whole ledgers the
 * plain fact that the genuine checkpoint commits to exactly one sequence of record bytes.
 */

// A run longer than this is a hang, not slowness: a ceiling, not a performance assertion.
const HANG = { timeout: 10_000, markInterruptAsFailure: true };

/** RFC 8785 by its own rules: keys sorted by UTF-16 code units, ECMAScript string and number forms. */
function jcs(value: unknown): string {
  if (value === null || typeof value === "boolean") return String(value);
  if (typeof value === "number") return Object.is(value, -0) ? "0" : String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(jcs).join(",")}]`;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort((a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const d = a.charCodeAt(i) - b.charCodeAt(i);
      if (d !== 0) return d;
    }
    return a.length - b.length;
  });
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(object[k])}`).join(",")}}`;
}

/** What an independent reader requires of stored bytes before believing them to be a record. */
function independentlyCanonical(bytes: Uint8Array): boolean {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return false;
  }
  if (!text.endsWith("\n") || text.endsWith("\n\n")) return false;
  let value: unknown;
  try {
    value = JSON.parse(text.slice(0, -1));
  } catch {
    return false;
  }
  const integersOnly = (v: unknown): boolean =>
    typeof v === "number" ? Number.isSafeInteger(v) : Array.isArray(v) ? v.every(integersOnly) : v !== null && typeof v === "object" ? Object.values(v).every(integersOnly) : true;
  return integersOnly(value) && jcs(value) + "\n" === text;
}

const KINDS = ["genesis", "change", "exception", "retro-approval", "provisioning", "drift", "access-review"];

/** The envelope rules any valid record meets, as the schema states them. */
function independentlyValidEnvelope(value: unknown): boolean {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const r = value as Record<string, unknown>;
  const keys = Object.keys(r).sort().join(",");
  if (keys !== "body,kind,observedAt,prev,schema,seq") return false;
  if (r["schema"] !== "charter.evidence/v1" || typeof r["kind"] !== "string" || !KINDS.includes(r["kind"])) return false;
  if (typeof r["seq"] !== "number" || !Number.isSafeInteger(r["seq"]) || r["seq"] < 0) return false;
  if ((r["kind"] === "genesis") !== (r["seq"] === 0)) return false;
  if (r["seq"] === 0 ? r["prev"] !== null : typeof r["prev"] !== "string" || !/^[0-9a-f]{64}$/.test(r["prev"])) return false;
  return typeof r["observedAt"] === "string" && !Number.isNaN(Date.parse(r["observedAt"])) && r["body"] !== null && typeof r["body"] === "object";
}

function parses(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: parseCanonical(bytes) };
  } catch (error) {
    // Only Charter's own typed refusal is an answer; anything else is a crash.
    if (!isCharterError(error)) throw error;
    expect(error.code).toBe("NOT_CANONICAL");
    return { ok: false };
  }
}

// A real ledger, written by the append path the app uses: a change, an emergency change, its
// retro-approval, a provisioning record, an exception, more changes.
const keys = generateSignerKey(ORIGIN);
const ledger = (() => {
  const emergency = { ...changeBody(2), emergency: { active: true, reason: "credential leak" } };
  const base = ledgerOf([{ kind: "change", body: changeBody(1) }, { kind: "change", body: emergency }], keys);
  const hash = (seq: number): string => recordHash(base.records[seq]?.bytes ?? new Uint8Array());
  return ledgerOf(
    [
      { kind: "change", body: changeBody(1) },
      { kind: "change", body: emergency },
      { kind: "retro-approval", body: { repository: { ...REPOSITORY }, emergency: { seq: 2, sha256: hash(2) }, issue: 15, approvals: [], outcome: "completed" } },
      {
        kind: "provisioning",
        body: {
          repository: { ...REPOSITORY },
          source: "change",
          after: { seq: 1, sha256: hash(1) },
          commit: "a".repeat(40),
          agents: ["support-triage"],
          plan: [],
          applied: [],
          verification: { remaining: [], escalations: [] },
          outcome: "converged",
        },
      },
      { kind: "exception", body: { kind: "direct-push", repository: { ...REPOSITORY }, commits: ["b".repeat(40)], pullRequest: null, reason: "pushed to main", agents: [], issue: 9 } },
      ...[5, 6, 7, 8, 9, 10].map((n) => ({ kind: "change" as const, body: { ...changeBody(n), idempotencyKey: idempotencyKey(REPOSITORY.id, n, changeBody(n).mergeSha) } })),
    ],
    keys,
  );
})();
const genuine = { records: ledger.records, checkpoint: ledger.checkpoint, verifierKeys: [keys.verifierKey] };
const SIZE = ledger.records.length;
// The tree of the whole genuine ledger, as the auditor's trust file would hold it.
const remembered = [{ origin: ORIGIN, size: SIZE, root: frontierRoot(ledger.tip.frontier), source: "your trust file" }];

describe("the record parser on arbitrary input", () => {
  it("never crashes or hangs on arbitrary bytes, and accepts only what an independent reader calls canonical", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
        const result = parses(bytes);
        if (result.ok) expect(independentlyCanonical(bytes)).toBe(true);
      }),
      { numRuns: 2000, ...HANG },
    );
  });

  it("agrees with an independent RFC 8785 serializer on arbitrary JSON, in both directions", () => {
    const integers = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.constant(null),
        fc.boolean(),
        fc.maxSafeInteger(),
        fc.string({ unit: "grapheme" }),
        fc.string({ unit: "binary" }),
        fc.array(tie("value"), { maxLength: 5 }),
        fc.dictionary(fc.string({ unit: "binary", maxLength: 6 }), tie("value"), { maxKeys: 6 }),
      ),
    })).value;
    fc.assert(
      fc.property(integers, fc.boolean(), (value, pretty) => {
        const text = (pretty ? JSON.stringify(value, null, 1) : jcs(value)) + "\n";
        const bytes = new TextEncoder().encode(text);
        const result = parses(bytes);
        // Lone surrogates cannot be encoded, so such strings come back altered; then neither side may accept.
        expect(result.ok).toBe(independentlyCanonical(bytes));
        if (!pretty && result.ok) expect(Buffer.from(canonicalBytes(result.value)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 2000, ...HANG },
    );
  });

  it("never accepts a mutated real record that breaks the independent envelope rules", () => {
    const field = fc.constantFrom("schema", "seq", "kind", "prev", "observedAt", "body", "extra");
    const anything = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(-1, 0, 1, 2 ** 53, "0".repeat(64), "genesis", "change", null, "2026-01-01T00:00:00Z"));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: SIZE - 1 }), fc.array(fc.tuple(field, fc.option(anything, { nil: undefined })), { minLength: 1, maxLength: 3 }), (seq, edits) => {
        const original = parseCanonical(ledger.records[seq]?.bytes ?? new Uint8Array()) as Record<string, unknown>;
        const record = Object.fromEntries(
          Object.keys({ ...original, ...Object.fromEntries(edits) }).flatMap((key) => {
            const edit = edits.findLast(([k]) => k === key);
            const value = edit ? edit[1] : original[key];
            return value === undefined ? [] : [[key, value]];
          }),
        );
        let bytes: Uint8Array;
        try {
          bytes = canonicalBytes(record);
        } catch (error) {
          if (!isCharterError(error)) throw error;
          return;
        }
        const parsed = parses(bytes);
        expect(parsed.ok).toBe(true);
        if (parsed.ok && validateRecord(parsed.value, "r.json").length === 0) expect(independentlyValidEnvelope(parsed.value)).toBe(true);
      }),
      { numRuns: 1500, ...HANG },
    );
  });
});

describe("verify on mutated real ledgers", () => {
  it("accepts the genuine ledger", () => {
    expect(verifyLedger(genuine).problems).toEqual([]);
  });

  it("rejects every flipped bit in any record", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: SIZE - 1 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (seq, at, bit) => {
        const records = ledger.records.map((r, i) => {
          if (i !== seq) return r;
          const bytes = Uint8Array.from(r.bytes);
          const index = at % bytes.length;
          bytes[index] = (bytes[index] ?? 0) ^ (1 << bit);
          return { path: r.path, bytes };
        });
        expect(verifyLedger({ ...genuine, records }).ok).toBe(false);
      }),
      { numRuns: 600, ...HANG },
    );
  });

  it("rejects records reordered, under their own paths or moved to each other's", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: SIZE - 1 }), fc.integer({ min: 0, max: SIZE - 1 }), fc.boolean(), (a, b, movePaths) => {
        fc.pre(a !== b);
        const records = ledger.records.map((r, i) => {
          const other = ledger.records[i === a ? b : i === b ? a : i] ?? r;
          return movePaths ? { path: r.path, bytes: other.bytes } : other;
        });
        // Swapping whole entries changes nothing: that is the same ledger, listed in another order.
        if (!movePaths) expect(verifyLedger({ ...genuine, records }).ok).toBe(true);
        else expect(verifyLedger({ ...genuine, records }).ok).toBe(false);
      }),
      { numRuns: 500, ...HANG },
    );
  });

  it("rejects a log with records cut out against the genuine checkpoint, and a rollback against a remembered tree", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: SIZE - 1 }), fc.integer({ min: 1, max: SIZE }), (from, count) => {
        const kept = ledger.records.filter((_, i) => i < from || i >= from + count);
        expect(verifyLedger({ ...genuine, records: kept }).ok).toBe(false);
        // Cut at the end and presented with the genuine older checkpoint: only a tree the auditor holds catches it.
        const size = Math.max(1, from);
        const older = { ...genuine, records: ledger.records.slice(0, size), checkpoint: ledger.checkpoints[size] ?? "" };
        expect(verifyLedger(older).ok).toBe(true);
        expect(verifyLedger({ ...older, trustedTrees: remembered }).ok).toBe(false);
      }),
      { numRuns: 500, ...HANG },
    );
  });

  it("rejects a ledger edited anywhere and re-signed with another key; one re-signed with the real key only against a tree held outside", () => {
    const forger = generateSignerKey(ORIGIN);
    fc.assert(
      // Records 1 and 2 are named by hash in later records; a rewrite of them would also have to rewrite those.
      fc.property(fc.integer({ min: 3, max: SIZE - 1 }), fc.stringMatching(/^[a-z0-9-]{1,20}$/), fc.boolean(), (seq, owner, realKey) => {
        const records = rechain(seq, (r) => {
          (r["body"] as Record<string, unknown>)["repository"] = { id: "1", fullName: `${owner}/x` };
        });
        const checkpoint = checkpointFor(tipOf(records.map((r) => r.bytes)), [realKey ? keys.signerKey : forger.signerKey]);
        expect(verifyLedger({ ...genuine, records, checkpoint, trustedTrees: remembered }).ok).toBe(false);
        // The documented limit: whoever holds the real key can sign a rewrite; only a tree held outside exposes it.
        expect(verifyLedger({ ...genuine, records, checkpoint }).ok).toBe(realKey);
      }),
      { numRuns: 300, ...HANG },
    );
  });
});

/** The records with record `seq` edited and every later record's prev recomputed, as a key holder could. */
function rechain(seq: number, edit: (record: Record<string, unknown>) => void): { path: string; bytes: Uint8Array }[] {
  let prev: string | null = null;
  return ledger.records.map((r, i) => {
    const record = parseCanonical(r.bytes) as Record<string, unknown>;
    if (i === seq) edit(record);
    if (i > 0) record["prev"] = prev;
    const bytes = canonicalBytes(record);
    prev = recordHash(bytes);
    return { path: recordPath(i), bytes };
  });
}


describe("the witness's consistency check on random tree sizes", () => {
  const leaves = Array.from({ length: 300 }, (_, i) => leafHash(Uint8Array.of(i % 256, Math.floor(i / 256))));
  const frontierOf = (size: number): Frontier => leaves.slice(0, size).reduce(appendLeaf, EMPTY_FRONTIER);

  it("builds from the compact range alone the proof the whole tree gives, and it verifies", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 300 }), (n, mRaw) => {
        const m = mRaw % (n + 1);
        const proof = consistencyProofFromFrontier(frontierOf(m), leaves.slice(m, n));
        expect(proof.map((h) => Buffer.from(h).toString("hex"))).toEqual(consistencyProof(m, leaves.slice(0, n)).map((h) => Buffer.from(h).toString("hex")));
        if (m > 0) expect(verifyConsistency(m, n, frontierRoot(frontierOf(m)), rootOf(leaves.slice(0, n)), proof)).toBe(true);
      }),
      { numRuns: 1000, ...HANG },
    );
  });

  it("refuses to cosign when any leaf of the tree it cosigned was changed, whatever was appended", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 100 }), fc.nat(), (m, added, at) => {
        const n = m + added;
        const forged = leaves.slice(0, n).map((h, i) => (i === at % m ? leafHash(Uint8Array.of(255, 255, 255)) : h));
        const old = { origin: ORIGIN, logKey: keys.verifierKey, size: m, root: frontierRoot(frontierOf(m)), frontier: frontierOf(m), cosignedAt: 0, note: "" };
        const checkpoint = { origin: ORIGIN, size: n, root: rootOf(forged), extensions: [] };
        expect(advanceWitness(old, checkpoint, forged.slice(m))).toMatchObject({ kind: "refuse", code: "inconsistent" });
        expect(advanceWitness(old, { ...checkpoint, root: rootOf(leaves.slice(0, n)) }, leaves.slice(m, n))).toMatchObject({ kind: "cosign", size: n });
      }),
      { numRuns: 500, ...HANG },
    );
  });
});
