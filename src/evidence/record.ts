import type { Diagnostic } from "../manifest/diagnostic.js";
import { validateAgainstSchema } from "../manifest/schema-validator.js";
import { validate as evidenceRecordValidator } from "../schema-types/evidence-record.validator.generated.js";
import { canonicalBytes } from "./canonical-json.js";
import type {
  AccessReviewBody,
  ChangeBody,
  DriftBody,
  EvidenceRecord,
  ExceptionBody,
  GenesisBody,
  ProvisioningBody,
  RetroApprovalBody,
  TrailAnchorBody,
  TrailExceptionBody,
  ReadinessBody,
} from "../schema-types/evidence-record.generated.js";
import { type Hash, leafHash, leafHashOfText, rootOf, sha256Hex } from "./merkle.js";

export type {
  AccessReviewBody,
  ChangeBody,
  DriftBody,
  EvidenceRecord,
  ExceptionBody,
  GenesisBody,
  ProvisioningBody,
  RetroApprovalBody,
  TrailAnchorBody,
  TrailExceptionBody,
  ReadinessBody,
} from "../schema-types/evidence-record.generated.js";

/**
 * The evidence record envelope. The format is schemas/evidence-record.schema.json; the types
 * are generated from it. A record is stored as canonicalBytes(record), and "its hash" always
 * means SHA-256 of exactly those stored bytes.
 */
export const RECORD_SCHEMA = "charter.evidence/v1";

export type RecordKind = EvidenceRecord["kind"];

export interface BodyByKind {
  readonly genesis: GenesisBody;
  readonly change: ChangeBody;
  readonly exception: ExceptionBody;
  readonly "retro-approval": RetroApprovalBody;
  readonly provisioning: ProvisioningBody;
  readonly drift: DriftBody;
  readonly "access-review": AccessReviewBody;
  readonly "trail-anchor": TrailAnchorBody;
  readonly "trail-exception": TrailExceptionBody;
  readonly readiness: ReadinessBody;
}

/** A record still to be appended: the ledger assigns seq and prev. */
export type NewRecord = {
  [K in RecordKind]: { readonly kind: K; readonly body: BodyByKind[K]; readonly observedAt: string };
}[RecordKind];

/** Schema problems of a parsed record, as Diagnostics against `file`; empty when valid. */
export function validateRecord(value: unknown, file: string): Diagnostic[] {
  // Stored records are a single line of JSON: every problem is placed at its start, and the
  // JSON Pointer in the diagnostic says where inside the record it is.
  const start = { line: 1, column: 1 };
  return validateAgainstSchema(evidenceRecordValidator, file, { value, locate: () => ({ start, end: start }) });
}

/** SHA-256 of stored record bytes, in lowercase hex: what the next record's `prev` holds. */
export function recordHash(bytes: Uint8Array): string {
  return sha256Hex(bytes);
}

/**
 * The Merkle root over a change's file hashes: one leaf per file, in the order RFC 8785 sorts
 * keys (UTF-16 code units, which is what Array.prototype.sort does), each leaf the canonical
 * bytes of [path, sha256], which cannot be confused whatever characters a path holds.
 */
export function filesRoot(hashes: Readonly<Record<string, string | undefined>>): string {
  const leaves = Object.keys(hashes)
    .sort()
    .map((path) => pairLeaf(path, hashes[path] ?? ""));
  const root = rootOf(leaves);
  return Buffer.from(root.buffer, root.byteOffset, root.byteLength).toString("hex");
}

// A UTF-16 surrogate, paired or not: strings holding one take canonicalBytes' full path.
const SURROGATE = /[\ud800-\udfff]/;

/**
 * The leaf of canonicalBytes([path, hash]), for the common case without the general serializer:
 * RFC 8785 writes a string exactly as JSON.stringify does, so for two strings without surrogates
 * (whose lone halves RFC 8785 refuses) the canonical text is JSON.stringify's. Verify computes
 * this for every file of every change record.
 */
function pairLeaf(path: string, hash: string): Hash {
  if (SURROGATE.test(path) || SURROGATE.test(hash)) return leafHash(canonicalBytes([path, hash]));
  return leafHashOfText(`${JSON.stringify([path, hash])}\n`);
}
