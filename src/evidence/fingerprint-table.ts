import { hash } from "node:crypto";

// The table is split by fingerprint into segments that grow one at a time, so that growing
// copies a sixty-fourth of it at once, never the whole: a whole-table copy held the old and the
// new table together, half again the table's memory at the peak.
const SEGMENT_BITS = 6;
const SEGMENTS = 1 << SEGMENT_BITS;
const FIRST_CAPACITY = 16;
// A segment grows by a quarter when four fifths full, so it is always 64–80% full once past its
// first growths: doubling at three quarters left tables as little as 37% full, each empty slot
// costing as much as a full one. Linear probing stays short at this load (some 13 slots looked
// at, consecutive in memory, for a string never seen).
const MAX_LOAD = 0.8;
const GROWTH = 1.25;
// Four 32-bit words of fingerprint a slot; each segment keeps its values in a second array.
const WORDS = 4;
const TWO_32 = 2 ** 32;

// Values are stored plus one, so that an empty slot is a zero, as a new array comes: a segment
// needs no fill before use.
const EMPTY = 0;

interface Segment {
  keys: Uint32Array;
  values: Float64Array;
  count: number;
}

/**
 * A set of strings kept as 128-bit fingerprints (the first 16 bytes of their SHA-256) in
 * open-addressed tables of typed arrays, each with a number attached: what the verifier must
 * remember about every record (the merge each change recorded, the idempotency keys seen) in
 * 24 bytes a slot and 30 to 38 a string, not a JavaScript string and an object each. Two
 * different strings share a fingerprint with probability 2^-128 per pair, and the SHA-256 makes
 * the slots uniform however the strings (attacker-controlled) were chosen.
 */
export class FingerprintTable {
  private readonly segments: Segment[] = Array.from({ length: SEGMENTS }, () => emptySegment(FIRST_CAPACITY));
  private count = 0;
  // The fingerprint being looked up, as four words: kept here so a lookup allocates nothing.
  private w0 = 0;
  private w1 = 0;
  private w2 = 0;
  private w3 = 0;

  get size(): number {
    return this.count;
  }

  /** The bytes its arrays hold: what the table costs, whatever it holds. */
  get bytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.keys.byteLength + segment.values.byteLength;
    return total;
  }

  /** The number stored with `text`, or undefined. */
  get(text: string): number | undefined {
    this.fingerprint(text);
    const segment = this.segmentOf();
    const stored = segment.values[this.find(segment)] ?? EMPTY;
    return stored === EMPTY ? undefined : stored - 1;
  }

  /**
   * Stores a non-negative number with `text`, replacing any before, and returns the one it
   * replaced (undefined when there was none): a get and a set for one fingerprint.
   */
  set(text: string, value: number): number | undefined {
    if (!(value >= 0)) throw new RangeError("FingerprintTable values are non-negative");
    this.fingerprint(text);
    const segment = this.segmentOf();
    if (segment.count + 1 > segment.values.length * MAX_LOAD) this.grow(segment);
    const slot = this.find(segment);
    const previous = segment.values[slot] ?? EMPTY;
    if (previous === EMPTY) {
      segment.count += 1;
      this.count += 1;
      const at = slot * WORDS;
      segment.keys[at] = this.w0;
      segment.keys[at + 1] = this.w1;
      segment.keys[at + 2] = this.w2;
      segment.keys[at + 3] = this.w3;
    }
    segment.values[slot] = value + 1;
    return previous === EMPTY ? undefined : previous - 1;
  }

  private fingerprint(text: string): void {
    // As a "binary" string, one character a byte: Node's one-shot hash is three times slower asked
    // for a Buffer, and verify takes a fingerprint of every change record.
    const d = hash("sha256", text, "binary");
    this.w0 = word(d, 0);
    this.w1 = word(d, 4);
    this.w2 = word(d, 8);
    this.w3 = word(d, 12);
  }

  private segmentOf(): Segment {
    // The segment from the second word's top bits, the slot from the first word: independent bits.
    const segment = this.segments[this.w1 >>> (32 - SEGMENT_BITS)];
    if (!segment) throw new RangeError("FingerprintTable segment out of range");
    return segment;
  }

  /** The slot holding the current fingerprint, or the empty slot where it belongs (linear probing). */
  private find(segment: Segment): number {
    const { keys, values } = segment;
    const capacity = values.length;
    let slot = home(this.w0, capacity);
    for (;;) {
      if ((values[slot] ?? EMPTY) === EMPTY) return slot;
      const at = slot * WORDS;
      if (keys[at] === this.w0 && keys[at + 1] === this.w1 && keys[at + 2] === this.w2 && keys[at + 3] === this.w3) return slot;
      slot = slot + 1 === capacity ? 0 : slot + 1;
    }
  }

  /** Moves a segment's fingerprints into a quarter more slots: all distinct, so each takes the first empty slot from its own. */
  private grow(segment: Segment): void {
    const { keys, values } = segment;
    const capacity = Math.ceil(values.length * GROWTH);
    const bigger = emptySegment(capacity);
    for (let slot = 0; slot < values.length; slot++) {
      const value = values[slot] ?? EMPTY;
      if (value === EMPTY) continue;
      const at = slot * WORDS;
      let target = home(keys[at] ?? 0, capacity);
      while ((bigger.values[target] ?? EMPTY) !== EMPTY) target = target + 1 === capacity ? 0 : target + 1;
      bigger.keys.set(keys.subarray(at, at + WORDS), target * WORDS);
      bigger.values[target] = value;
    }
    segment.keys = bigger.keys;
    segment.values = bigger.values;
  }
}

/** Where a fingerprint's probe starts: its first word scaled to the capacity (not masked, so a capacity may be any size). */
function home(w0: number, capacity: number): number {
  return Math.min(capacity - 1, Math.floor((w0 / TWO_32) * capacity));
}

function emptySegment(capacity: number): Segment {
  return { keys: new Uint32Array(capacity * WORDS), values: new Float64Array(capacity), count: 0 };
}

/** The little-endian 32-bit word at byte i of a "binary" string. */
function word(d: string, i: number): number {
  return (d.charCodeAt(i) | (d.charCodeAt(i + 1) << 8) | (d.charCodeAt(i + 2) << 16) | (d.charCodeAt(i + 3) << 24)) >>> 0;
}
