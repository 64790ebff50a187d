import type { DecidedEvent } from "../trail/decide.js";
import type { TrailSourceKind } from "../trail/event.js";
import { eventBits, type NameKind, resourceKey, triState } from "./trail-store.js";

/**
 * A batch's query rows laid out as columns in one buffer, the form in which they cross to the
 * SQLite trail's writer thread. Rows built as objects and structured-cloned showed in ingest
 * profiles as garbage collection on the thread that decides and as copying on both; one
 * ArrayBuffer is moved to the writer without a copy, and the few distinct strings of a batch
 * (agents, actions, resources, principals, sources) travel once each in small tables that the
 * rows point into.
 */

/** Doubles per row: observed time, receive time, manifest seq (NaN for none). */
const DOUBLES = 3;
export const D_OBSERVED = 0;
export const D_RECEIVED = 1;
export const D_MANIFEST = 2;

/** 32-bit integers per row, each an index into the batch's tables (-1 for none) or a packed value. */
const INTS = 10;
export const I_AGENT = 0;
export const I_SOURCE = 1;
export const I_ACTION = 2;
export const I_RESOURCE = 3;
export const I_PRINCIPAL = 4;
export const I_CLASS_SET = 5;
export const I_BITS = 6;
export const I_WITHIN = 7;
/** Bit 0: the source is attested. */
export const I_FLAGS = 8;
export const FLAG_ATTESTED = 1;
/** -1: no trace id; -2: its 16 bytes are in the row's bytes; k ≥ 0: the batch's odd trace id k (not 32 hex digits). */
export const I_TRACE = 9;
export const TRACE_NONE = -1;
export const TRACE_IN_BYTES = -2;

const TRACE_HEX = /^[0-9a-f]{32}$/;

/** Bytes per row: the event id, then the trace id (zeros when there is none), 16 bytes each. */
const BYTES = 32;

const ROW_BYTES = DOUBLES * 8 + INTS * 4 + BYTES;

/** The rows of a batch as columns: plain data that crosses to another thread as it is, its buffer moved. */
export interface TrailColumns {
  readonly count: number;
  /** doubles, then ints, then bytes (see the D_, I_ constants), `count` rows of each. */
  readonly buffer: ArrayBuffer;
  /** The batch's distinct names with their kinds; rows point into them. */
  readonly names: readonly string[];
  readonly kinds: readonly NameKind[];
  /** The batch's distinct sources: kind and instance, one after the other. */
  readonly sources: readonly string[];
  /** The batch's distinct sets of data classes (the catalog hands out one array per resource). */
  readonly classSets: readonly (readonly string[])[];
  /** Trace ids that are not 32 hex digits, stored as the bytes their hex decodes to, like any other. */
  readonly oddTraces: readonly string[];
}

/** Views over a TrailColumns buffer, for reading it back. */
export interface ColumnViews {
  readonly doubles: Float64Array;
  readonly ints: Int32Array;
  readonly bytes: Buffer;
}

export const DOUBLES_PER_ROW = DOUBLES;
export const INTS_PER_ROW = INTS;
export const BYTES_PER_ROW = BYTES;

export function columnViews(columns: TrailColumns): ColumnViews {
  const n = columns.count;
  return {
    doubles: new Float64Array(columns.buffer, 0, n * DOUBLES),
    ints: new Int32Array(columns.buffer, n * DOUBLES * 8, n * INTS),
    bytes: Buffer.from(columns.buffer, n * (DOUBLES * 8 + INTS * 4), n * BYTES),
  };
}

/** Hands out one index per distinct string of one kind within a batch. */
class Table {
  readonly #index = new Map<string, number>();
  readonly #kind: NameKind;
  readonly #names: string[];
  readonly #kinds: NameKind[];

  constructor(kind: NameKind, names: string[], kinds: NameKind[]) {
    this.#kind = kind;
    this.#names = names;
    this.#kinds = kinds;
  }

  of(value: string): number {
    let i = this.#index.get(value);
    if (i === undefined) {
      this.#index.set(value, (i = this.#names.length));
      this.#names.push(value);
      this.#kinds.push(this.#kind);
    }
    return i;
  }
}

/** The columns of decided events, in the order given. */
export function columnsOf(events: readonly DecidedEvent[]): TrailColumns {
  const n = events.length;
  const buffer = new ArrayBuffer(n * ROW_BYTES);
  const views = columnViews({ count: n, buffer, names: [], kinds: [], sources: [], classSets: [], oddTraces: [] });
  const { doubles, ints, bytes } = views;
  const names: string[] = [];
  const kinds: NameKind[] = [];
  const agents = new Table("agent", names, kinds);
  const actions = new Table("action", names, kinds);
  const resources = new Table("resource", names, kinds);
  const principals = new Table("principal", names, kinds);
  // Keyed by system, instance, then resource: no key string is built (and hashed) per event to find its resource's name.
  const resourceIndex = new Map<string, Map<string | null, Map<string, number>>>();
  const sources: string[] = [];
  // Keyed by kind, then instance: no string is built per event to find its source.
  const sourceIndex = new Map<TrailSourceKind, Map<string, number>>();
  const classSets: (readonly string[])[] = [];
  const setIndex = new Map<readonly string[], number>();
  const oddTraces: string[] = [];
  let receivedAt = "";
  let receivedMs = Number.NaN;
  for (let i = 0; i < n; i++) {
    const e = events[i] as DecidedEvent;
    // A submission's events share one receive time.
    if (e.receivedAt !== receivedAt) {
      receivedAt = e.receivedAt;
      receivedMs = Date.parse(receivedAt);
    }
    let byInstance = sourceIndex.get(e.source);
    if (byInstance === undefined) sourceIndex.set(e.source, (byInstance = new Map<string, number>()));
    let source = byInstance.get(e.sourceInstance);
    if (source === undefined) {
      byInstance.set(e.sourceInstance, (source = sources.length / 2));
      sources.push(e.source, e.sourceInstance);
    }
    let classSet = setIndex.get(e.dataClasses);
    if (classSet === undefined) {
      setIndex.set(e.dataClasses, (classSet = classSets.length));
      classSets.push(e.dataClasses);
    }
    const d = i * DOUBLES;
    doubles[d + D_OBSERVED] = Date.parse(e.observedAt);
    doubles[d + D_RECEIVED] = receivedMs;
    doubles[d + D_MANIFEST] = e.manifestSeq ?? Number.NaN;
    let resource = -1;
    if (e.system !== null && e.resource !== null) {
      let byInstance = resourceIndex.get(e.system);
      if (byInstance === undefined) resourceIndex.set(e.system, (byInstance = new Map<string | null, Map<string, number>>()));
      let byResource = byInstance.get(e.instance);
      if (byResource === undefined) byInstance.set(e.instance, (byResource = new Map<string, number>()));
      const known = byResource.get(e.resource);
      if (known === undefined) byResource.set(e.resource, (resource = resources.of(resourceKey(e) as string)));
      else resource = known;
    }
    const o = i * INTS;
    ints[o + I_AGENT] = e.agent === null ? -1 : agents.of(e.agent);
    ints[o + I_SOURCE] = source;
    ints[o + I_ACTION] = actions.of(e.action);
    ints[o + I_RESOURCE] = resource;
    ints[o + I_PRINCIPAL] = principals.of(e.principal);
    ints[o + I_CLASS_SET] = classSet;
    ints[o + I_BITS] = eventBits(e);
    ints[o + I_WITHIN] = triState(e.withinHours);
    ints[o + I_FLAGS] = e.attested ? FLAG_ATTESTED : 0;
    const b = i * BYTES;
    // Event ids are always 32 hex digits (eventId).
    bytes.write(e.id, b, 16, "hex");
    if (e.traceId === null) ints[o + I_TRACE] = TRACE_NONE;
    else if (TRACE_HEX.test(e.traceId)) {
      bytes.write(e.traceId, b + 16, 16, "hex");
      ints[o + I_TRACE] = TRACE_IN_BYTES;
    } else {
      ints[o + I_TRACE] = oddTraces.length;
      oddTraces.push(e.traceId);
    }
  }
  return { count: n, buffer, names, kinds, sources, classSets, oddTraces };
}
