import { hash } from "node:crypto";
import type { TrailEvent } from "./event.js";

/**
 * The stored form of a trail event, and the hash chain over it.
 *
 * An event is stored as its RFC 8785 canonical JSON without `hash` and without members whose
 * value is null (a reader restores them as null): keys in UTF-16 order, strings and numbers as
 * ECMAScript writes them. Every field name is a fixed ASCII word, so the order is fixed too and
 * the bytes are built by concatenation instead of a general canonicalizer (ingest writes tens of
 * thousands a second).
 *
 * The chain: hash(n) = SHA-256(0x00 ‖ hash(n-1) ‖ bytes(n)), with 32 zero bytes before the first
 * event. That is exactly the RFC 6962 leaf hash of (previous hash ‖ bytes), so one digest per
 * event both chains it to its predecessor and is its leaf in the trail's Merkle tree: an edited,
 * dropped, inserted or moved event changes every later hash and every later tree root.
 */
export type UnchainedEvent = Omit<TrailEvent, "hash">;

export const GENESIS_HASH = "0".repeat(64);

const LEAF_PREFIX = Uint8Array.of(0x00);

/** Field names in canonical (sorted) order; `hash` is never part of the stored bytes. */
const FIELDS = [
  "action",
  "agent",
  "attested",
  "claimedAgent",
  "dataClasses",
  "detail",
  "errorCode",
  "flags",
  "id",
  "inScope",
  "inputTokens",
  "instance",
  "localDay",
  "localHour",
  "manifestCommit",
  "manifestSeq",
  "model",
  "observedAt",
  "outcome",
  "outputTokens",
  "permission",
  "principal",
  "receivedAt",
  "resource",
  "seq",
  "source",
  "sourceInstance",
  "sourceKey",
  "spanId",
  "system",
  "tokenAgent",
  "tool",
  "traceId",
  "withinHours",
] as const satisfies readonly (keyof UnchainedEvent)[];

// Keys are checked against the event type in both directions at compile time.
type Missing = Exclude<keyof UnchainedEvent, (typeof FIELDS)[number]>;
// Underscored: read by nobody, it exists for the compiler's check alone.
const _FIELDS_COMPLETE: Missing extends never ? true : Missing = true;

/**
 * The canonical text of an event (see above), written field by field in sorted key order: a
 * loop over the names with keyed property reads cost several times more per event. The test
 * suite checks the output against a general RFC 8785 canonicalizer.
 */
export function eventText(e: UnchainedEvent): string {
  let out = `{"action":${str(e.action)}`;
  if (e.agent !== null) out += `,"agent":${str(e.agent)}`;
  out += `,"attested":${String(e.attested)}`;
  if (e.claimedAgent !== null) out += `,"claimedAgent":${str(e.claimedAgent)}`;
  out += `,"dataClasses":${list(e.dataClasses)}`;
  out += `,"detail":${record(e.detail)}`;
  if (e.errorCode !== null) out += `,"errorCode":${str(e.errorCode)}`;
  out += `,"flags":${list(e.flags)}`;
  out += `,"id":${str(e.id)}`;
  if (e.inScope !== null) out += `,"inScope":${String(e.inScope)}`;
  if (e.inputTokens !== null) out += `,"inputTokens":${num(e.inputTokens)}`;
  if (e.instance !== null) out += `,"instance":${str(e.instance)}`;
  if (e.localDay !== null) out += `,"localDay":${str(e.localDay)}`;
  if (e.localHour !== null) out += `,"localHour":${num(e.localHour)}`;
  if (e.manifestCommit !== null) out += `,"manifestCommit":${str(e.manifestCommit)}`;
  if (e.manifestSeq !== null) out += `,"manifestSeq":${num(e.manifestSeq)}`;
  if (e.model !== null) out += `,"model":${str(e.model)}`;
  out += `,"observedAt":${str(e.observedAt)}`;
  out += `,"outcome":${str(e.outcome)}`;
  if (e.outputTokens !== null) out += `,"outputTokens":${num(e.outputTokens)}`;
  if (e.permission !== null) out += `,"permission":${str(e.permission)}`;
  out += `,"principal":${str(e.principal)}`;
  out += `,"receivedAt":${str(e.receivedAt)}`;
  if (e.resource !== null) out += `,"resource":${str(e.resource)}`;
  out += `,"seq":${num(e.seq)}`;
  out += `,"source":${str(e.source)}`;
  out += `,"sourceInstance":${str(e.sourceInstance)}`;
  out += `,"sourceKey":${str(e.sourceKey)}`;
  if (e.spanId !== null) out += `,"spanId":${str(e.spanId)}`;
  if (e.system !== null) out += `,"system":${str(e.system)}`;
  if (e.tokenAgent !== null) out += `,"tokenAgent":${str(e.tokenAgent)}`;
  if (e.tool !== null) out += `,"tool":${str(e.tool)}`;
  if (e.traceId !== null) out += `,"traceId":${str(e.traceId)}`;
  if (e.withinHours !== null) out += `,"withinHours":${String(e.withinHours)}`;
  return out + "}";
}

export function eventBytes(event: UnchainedEvent): Buffer {
  return Buffer.from(eventText(event), "utf8");
}

// Printable ASCII without quote or backslash needs no escaping: the common case, done without JSON.stringify.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function str(value: string): string {
  return PLAIN.test(value) ? `"${value}"` : JSON.stringify(value);
}

function num(value: number): string {
  // Only whole numbers are stored (counts, hours, seqs): canonical JSON writes them plainly.
  if (!Number.isSafeInteger(value)) throw new TypeError(`trail events hold whole numbers only, got ${String(value)}`);
  return String(value);
}

function list(values: readonly string[]): string {
  let out = "[";
  for (let i = 0; i < values.length; i++) out += (i === 0 ? "" : ",") + str(values[i] as string);
  return out + "]";
}

/** detail: a flat map of strings, keys sorted by UTF-16 code units as RFC 8785 requires. */
function record(value: Readonly<Record<string, string>>): string {
  const keys = Object.keys(value).sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    out += `${i === 0 ? "" : ","}${str(k)}:${str(String(value[k]))}`;
  }
  return out + "}";
}

/** The next link of the chain (lowercase hex), from the previous event's hash and this event's stored bytes. */
export function chainHash(previousHex: string, bytes: Uint8Array): string {
  return hash("sha256", Buffer.concat([LEAF_PREFIX, Buffer.from(previousHex, "hex"), bytes]), "hex");
}

// One buffer reused for every link's input: ingest and verify hash tens of thousands of links a
// second, and a fresh concatenation per link showed in their profiles as allocation and GC.
let scratch = Buffer.allocUnsafe(4096);

/**
 * An event's stored bytes written into `lines` at `at`, a newline after them: the canonical
 * text is encoded straight into the buffer that is stored, with no copy per event. Returns the
 * lines (grown when the event did not fit) and where its line ends.
 */
export function lineInto(event: UnchainedEvent, lines: Buffer, at: number): { lines: Buffer; end: number } {
  const text = eventText(event);
  // A UTF-16 code unit takes at most three bytes in UTF-8: room for that always fits the text.
  const room = text.length * 3 + 1;
  let out = lines;
  if (out.length < at + room) {
    out = Buffer.allocUnsafe(Math.max(at + room, out.length * 2));
    lines.copy(out, 0, 0, at);
  }
  const n = out.write(text, at, "utf8");
  out[at + n] = 0x0a;
  return { lines: out, end: at + n + 1 };
}

/** The same, into raw bytes (the Merkle leaf). */
export function chainHashBytes(previous: Uint8Array, bytes: Uint8Array): Buffer {
  const n = 1 + previous.length + bytes.length;
  if (scratch.length < n) scratch = Buffer.allocUnsafe(Math.max(n, scratch.length * 2));
  scratch[0] = 0x00;
  scratch.set(previous, 1);
  scratch.set(bytes, 1 + previous.length);
  return hash("sha256", scratch.subarray(0, n), "buffer");
}

/**
 * The event id: deterministic from where the event came from, so a redelivered or re-read event
 * gets the id it had the first time and ingest records it once. 32 hex digits of SHA-256 over
 * the three parts, each length-prefixed so that no choice of parts collides with another.
 */
export function eventId(source: string, sourceInstance: string, sourceKey: string): string {
  // Written out rather than mapped and joined: ingest computes one id per event.
  const parts = `${String(Buffer.byteLength(source, "utf8"))}:${source}${String(Buffer.byteLength(sourceInstance, "utf8"))}:${sourceInstance}${String(Buffer.byteLength(sourceKey, "utf8"))}:${sourceKey}`;
  return hash("sha256", parts, "hex").slice(0, 32);
}

/** Restores an event from its stored bytes and hash (nulls were left out). The bytes were written by eventBytes. */
export function eventFromBytes(bytes: Uint8Array, hashHex: string): TrailEvent {
  const parsed = JSON.parse(Buffer.from(bytes).toString("utf8")) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of FIELDS) out[f] = parsed[f] ?? null;
  out["hash"] = hashHex;
  return out as unknown as TrailEvent;
}
