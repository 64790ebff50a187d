import { hash } from "node:crypto";

/**
 * A set of strings kept as 128-bit fingerprints (the first 16 bytes of their SHA-256) in one
 * open-addressed table of typed arrays, each with a number attached: what the verifier must
 * remember about every record (the merge each change recorded, the idempotency keys seen) in
 * about 24 bytes a string, not a JavaScript string and an object each. Two different strings
 * share a fingerprint with probability 2^-128 per pair, and the SHA-256 makes the slots
 * uniform however the strings (attacker-controlled) were chosen.
 */
export class FingerprintTable {
  private keys = new Uint32Array(4 * 1024);
  private values = new Float64Array(1024).fill(-1);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The number stored with `text`, or undefined. */
  get(text: string): number | undefined {
    const slot = this.find(fingerprint(text));
    const value = this.values[slot] ?? -1;
    return value < 0 ? undefined : value;
  }

  /**
   * Stores a non-negative number with `text`, replacing any before, and returns the one it
   * replaced (undefined when there was none): a get and a set for one fingerprint.
   */
  set(text: string, value: number): number | undefined {
    if (!(value >= 0)) throw new RangeError("FingerprintTable values are non-negative");
    if ((this.count + 1) * 4 > this.values.length * 3) this.grow();
    const fp = fingerprint(text);
    const slot = this.find(fp);
    const previous = this.values[slot] ?? -1;
    if (previous < 0) {
      this.count += 1;
      this.keys.set(fp, slot * 4);
    }
    this.values[slot] = value;
    return previous < 0 ? undefined : previous;
  }

  /** The slot holding fp, or the empty slot where it belongs (linear probing). */
  private find(fp: Uint32Array): number {
    const mask = this.values.length - 1;
    for (let slot = (fp[0] ?? 0) & mask; ; slot = (slot + 1) & mask) {
      if ((this.values[slot] ?? -1) < 0) return slot;
      const at = slot * 4;
      if (this.keys[at] === fp[0] && this.keys[at + 1] === fp[1] && this.keys[at + 2] === fp[2] && this.keys[at + 3] === fp[3]) return slot;
    }
  }

  private grow(): void {
    const { keys, values } = this;
    this.keys = new Uint32Array(keys.length * 2);
    this.values = new Float64Array(values.length * 2).fill(-1);
    this.count = 0;
    for (let slot = 0; slot < values.length; slot++) {
      const value = values[slot] ?? -1;
      if (value < 0) continue;
      const fp = keys.subarray(slot * 4, slot * 4 + 4);
      const target = this.find(fp);
      this.keys.set(fp, target * 4);
      this.values[target] = value;
      this.count += 1;
    }
  }
}

function fingerprint(text: string): Uint32Array {
  // As a "binary" string, one character a byte: Node's one-shot hash is three times slower asked
  // for a Buffer, and verify takes a fingerprint of every change record.
  const d = hash("sha256", text, "binary");
  return Uint32Array.of(word(d, 0), word(d, 4), word(d, 8), word(d, 12));
}

/** The little-endian 32-bit word at byte i of a "binary" string. */
function word(d: string, i: number): number {
  return (d.charCodeAt(i) | (d.charCodeAt(i + 1) << 8) | (d.charCodeAt(i + 2) << 16) | (d.charCodeAt(i + 3) << 24)) >>> 0;
}
