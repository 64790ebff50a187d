import { CharterError, isCharterError } from "../errors.js";
import { parseCanonical } from "../evidence/canonical-json.js";
import type { EvidenceRecord } from "../schema-types/evidence-record.generated.js";
import { recordHash } from "../evidence/record.js";
import { type AgentState, agentStateOf } from "./agent-state.js";
import type { AuditStore } from "./audit-store.js";
import { type IndexedRecord, type ManifestCopy, indexRows, manifestCopiesOf } from "./index-rows.js";
import type { LedgerSource } from "./ledger-source.js";
import { manifestFacts } from "./manifest-facts.js";

export interface UpdateOptions {
  /** Drop the index and read every record again. */
  readonly rebuild?: boolean;
  /** Records per transaction. */
  readonly batchSize?: number;
}

export interface UpdateResult {
  /** Records added by this update. */
  readonly indexed: number;
  /** Records in the index (= in the ledger) afterwards. */
  readonly size: number;
  /** Hash of the last record indexed: the tip the answers rest on. */
  readonly lastHash: string | null;
  readonly commit: string;
}

const REWRITTEN_HINT = "Run charter verify to see what changed on the evidence branch, then charter audit --rebuild to index it again.";
// Parsed manifest copies kept between batches; a ledger repeats few manifests, so this only bounds memory.
const MANIFEST_CACHE = 50_000;

/**
 * Brings the index up to the ledger's tip, reading only records it has not indexed. Each new
 * record must continue the chain the index ends with (its `prev` is the last indexed hash);
 * otherwise the branch was rewritten under the index, and the update refuses rather than mix
 * two histories. The last indexed record is re-read each time, so a rewrite is caught even when
 * no record was added.
 *
 * This reads the branch, it does not verify it (signatures, checkpoint, completeness): that is
 * charter verify's job, and an auditor runs it first.
 */
export async function updateIndex(store: AuditStore, source: LedgerSource, options: UpdateOptions = {}): Promise<UpdateResult> {
  if (options.rebuild === true) await store.reset();
  // Each batch commits every page it touched, and a large ledger's inserts land on a page per
  // agent in the agent-keyed tables: larger batches fill those pages in fewer writes, which is
  // what keeps the build rate from falling as agents (and the index) grow.
  const batchSize = options.batchSize ?? 20_000;
  const size = await source.size();
  const manifests = new Map<string, ManifestCopy>();
  let indexed = 0;
  for (;;) {
    const meta = await store.meta();
    if (meta.size > size) {
      throw new CharterError("LEDGER_REWRITTEN", `the index holds ${meta.size} records but the evidence branch only ${size}: records were removed`, { hint: REWRITTEN_HINT });
    }
    if (meta.size > 0) {
      const [last] = await source.read(meta.size - 1, 1);
      if (last === undefined || recordHash(last) !== meta.lastHash) {
        throw new CharterError("LEDGER_REWRITTEN", `record ${meta.size - 1} on the evidence branch is not the record the index was built from`, { hint: REWRITTEN_HINT });
      }
    }
    if (meta.size === size) return { indexed, size, lastHash: meta.lastHash, commit: source.commit };
    const agents = new Map((await store.select("SELECT state FROM agents")).map((row) => { const s = agentStateOf(row); return [s.agent, s] as const; }));
    const raced = await indexFrom(store, source, meta.size, meta.lastHash, size, batchSize, agents, manifests, (n) => (indexed += n));
    if (!raced) {
      const after = await store.meta();
      return { indexed, size: after.size, lastHash: after.lastHash, commit: source.commit };
    }
  }
}

/** Indexes records from..size-1 in batches; true when another process got there first. */
async function indexFrom(
  store: AuditStore,
  source: LedgerSource,
  from: number,
  lastHash: string | null,
  size: number,
  batchSize: number,
  agents: Map<string, AgentState>,
  manifests: Map<string, ManifestCopy>,
  count: (n: number) => void,
): Promise<boolean> {
  let prev = lastHash;
  for (let start = from; start < size; start += batchSize) {
    const bytes = await source.read(start, Math.min(batchSize, size - start));
    const records: IndexedRecord[] = [];
    let hash = prev;
    bytes.forEach((b, i) => {
      const seq = start + i;
      const record = parse(b, seq);
      if (record.seq !== seq || record.prev !== hash) {
        const rewritten = seq === from && from > 0;
        throw new CharterError(
          rewritten ? "LEDGER_REWRITTEN" : "INVALID_RECORD",
          rewritten
            ? `record ${seq} on the evidence branch does not continue from the last indexed record ${seq - 1}`
            : `record ${seq} does not follow record ${seq - 1} (its seq or prev is wrong)`,
          { hint: REWRITTEN_HINT },
        );
      }
      hash = recordHash(b);
      records.push({ seq, hash, record });
    });
    const copies = shaped(records, () => records.flatMap((r) => manifestCopiesOf(r.record)));
    await readManifests(source, copies, manifests);
    const rows = shaped(records, () => indexRows(records, agents, manifests));
    const result = await store.apply({ fromSeq: start, toSeq: start + bytes.length - 1, prevHash: prev, lastHash: hash ?? "", rows });
    if (result === "raced") return true;
    count(bytes.length);
    prev = hash;
  }
  return false;
}

/**
 * indexRows trusts the record's shape, which the schema guarantees for a record Charter wrote; a
 * canonical record of another shape (written by someone else onto the branch) would fail inside
 * it, so that failure is reported as the bad record it is.
 */
function shaped<T>(records: readonly IndexedRecord[], work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    throw new CharterError("INVALID_RECORD", `records ${records[0]?.seq ?? 0}–${records.at(-1)?.seq ?? 0} include one that is not shaped as its kind requires: ${error.message}`, {
      cause: error,
      hint: "Run charter verify: it names the record and the schema rule it breaks.",
    });
  }
}

function parse(bytes: Uint8Array, seq: number): EvidenceRecord {
  try {
    return parseCanonical(bytes) as EvidenceRecord;
  } catch (error) {
    if (!isCharterError(error)) throw error;
    throw new CharterError("INVALID_RECORD", `record ${seq} cannot be read: ${error.message.replace(/^charter: /, "")}`, { cause: error, hint: "Run charter verify: the evidence branch holds a record Charter did not write." });
  }
}

async function readManifests(source: LedgerSource, copies: readonly string[], cache: Map<string, ManifestCopy>): Promise<void> {
  const wanted = [...new Set(copies)].filter((sha) => !cache.has(sha));
  if (wanted.length === 0) return;
  if (cache.size + wanted.length > MANIFEST_CACHE) cache.clear();
  const objects = await source.objects(wanted);
  for (const sha of wanted) {
    const bytes = objects.get(sha);
    // A copy is named by its SHA-256; one whose bytes do not match its name is not the approved
    // manifest and tells nothing about it.
    cache.set(sha, bytes === undefined ? "absent" : recordHash(bytes) === sha ? (manifestFacts(bytes) ?? "unreadable") : "unreadable");
  }
}
