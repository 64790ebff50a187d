/** What a later record may refer back to an earlier one as. */
export type ReferableKind = "change" | "emergency-change" | "exception" | "other";

const KINDS: readonly ReferableKind[] = ["other", "change", "emergency-change", "exception"];
// Each record's whole SHA-256 and one kind byte, in fixed chunks so that growth never copies.
const HASH = 32;
const ENTRY = HASH + 1;
const PER_CHUNK = 1 << 14;

/**
 * Each record's hash and kind by seq, for the records that name an earlier one by seq and hash
 * (a retro-approval its emergency change, a provisioning record its approval): 33 bytes a record,
 * stored by position in the order the records arrive. Seqs normally equal positions; a gap (a
 * deleted record, or a forged seq of a billion) starts a new run, remembered as the seq it starts
 * at, so a gap costs one small entry and never the memory of the seqs it skips.
 */
export class RecordIndex {
  private readonly chunks: Uint8Array[] = [];
  /** Where each run of consecutive seqs starts: its first seq and its position. Seqs ascend. */
  private readonly runs: { seq: number; position: number }[] = [];
  private count = 0;

  /** Appends record `seq`, which must be greater than every seq appended before. */
  append(seq: number, digest: Uint8Array, kind: ReferableKind): void {
    const last = this.runs.at(-1);
    if (last !== undefined && seq <= last.seq + (this.count - last.position) - 1) throw new RangeError("RecordIndex seqs must ascend");
    if (last === undefined || seq !== last.seq + (this.count - last.position)) this.runs.push({ seq, position: this.count });
    const position = this.count;
    if (position % PER_CHUNK === 0) this.chunks.push(new Uint8Array(PER_CHUNK * ENTRY));
    const chunk = this.chunks[this.chunks.length - 1];
    if (!chunk) return;
    const at = (position % PER_CHUNK) * ENTRY;
    chunk.set(digest.subarray(0, HASH), at);
    chunk[at + HASH] = KINDS.indexOf(kind);
    this.count += 1;
  }

  /** The kind of record `seq` if its SHA-256 is `sha256Hex`; undefined if there is no such record. */
  kindOf(seq: number, sha256Hex: string): ReferableKind | undefined {
    if (!Number.isSafeInteger(seq) || seq < 0 || !/^[0-9a-f]{64}$/.test(sha256Hex)) return undefined;
    const position = this.positionOf(seq);
    if (position === undefined) return undefined;
    const chunk = this.chunks[Math.floor(position / PER_CHUNK)];
    if (!chunk) return undefined;
    const at = (position % PER_CHUNK) * ENTRY;
    if (Buffer.compare(Buffer.from(sha256Hex, "hex"), chunk.subarray(at, at + HASH)) !== 0) return undefined;
    return KINDS[chunk[at + HASH] ?? 0];
  }

  private positionOf(seq: number): number | undefined {
    // The last run starting at or before seq (binary search: an attacker may make many runs).
    let low = 0;
    let high = this.runs.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if ((this.runs[mid]?.seq ?? Infinity) <= seq) {
        found = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    const run = this.runs[found];
    if (run === undefined) return undefined;
    const position = run.position + (seq - run.seq);
    const end = this.runs[found + 1]?.position ?? this.count;
    return position < end ? position : undefined;
  }
}
