import { brotliCompressSync, brotliDecompressSync, constants } from "node:zlib";
import { CharterError } from "../errors.js";
import type { ChainRow } from "./trail-store.js";

/**
 * How both stores keep the record: the stored bytes of up to 256 consecutive events, one line
 * each, compressed together. The canonical lines repeat their field names and most of their
 * values (agent, permission, manifest commit, times) from one event to the next, so Brotli at
 * its fastest setting keeps about 55 bytes of a 700-byte line for about 1.5 µs per event, less
 * than the SHA-256 that chains it. The hash chain covers the uncompressed lines, so compression
 * changes nothing an auditor checks: verify decompresses and re-hashes.
 *
 * A compressed chunk starts with a zero byte; a chunk written before compression starts with
 * `{` (an event line), so trails created by earlier releases stay readable as they are, and both
 * kinds may sit in one trail.
 */
const COMPRESSED = 0x00;
const NEWLINE = Buffer.from("\n");
/**
 * What a compressed chunk may inflate to: a chunk that inflates past this was not written by
 * Charter (a decompression bomb planted in the store would otherwise exhaust verify's memory).
 * Lines longer in all are stored uncompressed, so the bound never refuses a real chunk.
 */
const MAX_LINES_BYTES = 64 * 1024 * 1024;

/** The stored form of consecutive events' bytes: the lines, or the lines already joined, each followed by a newline. */
export function packChunk(lines: Buffer | readonly Buffer[]): Buffer {
  let plain: Buffer;
  if (Buffer.isBuffer(lines)) plain = lines;
  else {
    const parts: Buffer[] = [];
    for (const line of lines) parts.push(line, NEWLINE);
    plain = Buffer.concat(parts);
  }
  if (plain.length > MAX_LINES_BYTES) return plain;
  const packed = brotliCompressSync(plain, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 1, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT },
  });
  return Buffer.concat([Buffer.of(COMPRESSED), packed]);
}

/** The lines of a stored chunk, each ending in a newline; null when the stored bytes do not decode (the record was damaged). */
export function chunkLines(stored: Buffer): Buffer | null {
  if (stored[0] !== COMPRESSED) return stored;
  try {
    return brotliDecompressSync(stored.subarray(1), { maxOutputLength: MAX_LINES_BYTES });
  } catch {
    return null;
  }
}

/** The links of one chunk from seq `from` on. A chunk's lines end in a newline each; the bytes never contain one (JSON escapes it). */
export function* splitChunk(first: number, stored: Buffer, hashes: Buffer, from = first): IterableIterator<ChainRow> {
  const lines = chunkLines(stored);
  if (lines === null) {
    throw new CharterError("INVALID_RECORD", `the stored chunk of events from ${String(first)} does not decode: the trail store was damaged or edited`, {
      hint: "Run charter trail verify to see what else was changed.",
    });
  }
  let start = 0;
  for (let seq = first; start < lines.length; seq++) {
    const end = lines.indexOf(0x0a, start);
    const stop = end === -1 ? lines.length : end;
    if (seq >= from) {
      const i = seq - first;
      yield { seq, bytes: lines.subarray(start, stop), hash: hashes.subarray(i * 32, i * 32 + 32) };
    }
    start = stop + 1;
  }
}
