import type { AgentManifest } from "../schema-types/agent-manifest.generated.js";
import type { TrailEvent } from "../trail/event.js";

/**
 * The fields detection rules can name: the trail's published event fields by their own names,
 * one `detail.<key>` per source-specific fact, and a few facts of the manifest in force under
 * `manifest.`. A rule that names anything else is refused when it is loaded, because a misspelt
 * field would otherwise never match and the rule would be silently dead.
 */
export type FieldValue = string | number | boolean | null | readonly string[];

export type FieldKind = "string" | "number" | "boolean" | "list";

export interface FieldSpec {
  readonly name: string;
  readonly kind: FieldKind;
  /** A small number unique to this field, where an EventView keeps its value. */
  readonly slot: number;
  get(event: TrailEvent, manifest: AgentManifest | undefined): FieldValue;
}

type Getter = (event: TrailEvent, manifest: AgentManifest | undefined) => FieldValue;

const EVENT_FIELDS: Readonly<Record<string, readonly [FieldKind, Getter]>> = {
  id: ["string", (e) => e.id],
  seq: ["number", (e) => e.seq],
  source: ["string", (e) => e.source],
  sourceInstance: ["string", (e) => e.sourceInstance],
  sourceKey: ["string", (e) => e.sourceKey],
  attested: ["boolean", (e) => e.attested],
  observedAt: ["string", (e) => e.observedAt],
  receivedAt: ["string", (e) => e.receivedAt],
  principal: ["string", (e) => e.principal],
  claimedAgent: ["string", (e) => e.claimedAgent],
  tokenAgent: ["string", (e) => e.tokenAgent],
  agent: ["string", (e) => e.agent],
  action: ["string", (e) => e.action],
  system: ["string", (e) => e.system],
  resource: ["string", (e) => e.resource],
  instance: ["string", (e) => e.instance],
  permission: ["string", (e) => e.permission],
  outcome: ["string", (e) => e.outcome],
  errorCode: ["string", (e) => e.errorCode],
  traceId: ["string", (e) => e.traceId],
  spanId: ["string", (e) => e.spanId],
  tool: ["string", (e) => e.tool],
  model: ["string", (e) => e.model],
  inputTokens: ["number", (e) => e.inputTokens],
  outputTokens: ["number", (e) => e.outputTokens],
  manifestSeq: ["number", (e) => e.manifestSeq],
  manifestCommit: ["string", (e) => e.manifestCommit],
  inScope: ["boolean", (e) => e.inScope],
  localDay: ["string", (e) => e.localDay],
  localHour: ["number", (e) => e.localHour],
  withinHours: ["boolean", (e) => e.withinHours],
  dataClasses: ["list", (e) => e.dataClasses],
  flags: ["list", (e) => e.flags],
  hash: ["string", (e) => e.hash],
  "manifest.status": ["string", (_e, m) => m?.status ?? null],
  "manifest.environment": ["string", (_e, m) => m?.environment ?? null],
  "manifest.dataClassifications": ["list", (_e, m) => m?.dataClassifications ?? null],
};

/** The names a rule may use, for error messages and docs. */
export const FIELD_NAMES: readonly string[] = [...Object.keys(EVENT_FIELDS), "detail.<key>", "manifest.labels.<key>"];

const KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

const cache = new Map<string, FieldSpec>();
let slots = 0;

export function resolveField(name: string): FieldSpec | undefined {
  const cached = cache.get(name);
  if (cached) return cached;
  let spec: FieldSpec | undefined;
  const known = Object.hasOwn(EVENT_FIELDS, name) ? EVENT_FIELDS[name] : undefined;
  if (known) spec = { name, kind: known[0], slot: slots++, get: known[1] };
  else if (name.startsWith("detail.") && KEY.test(name.slice(7))) {
    const key = name.slice(7);
    // Object.hasOwn: detail comes from a source, so inherited names such as "constructor" must not resolve.
    spec = { name, kind: "string", slot: slots++, get: (e) => (Object.hasOwn(e.detail, key) ? (e.detail[key] ?? null) : null) };
  } else if (name.startsWith("manifest.labels.") && KEY.test(name.slice(16))) {
    const key = name.slice(16);
    spec = { name, kind: "string", slot: slots++, get: (_e, m) => (m?.labels && Object.hasOwn(m.labels, key) ? (m.labels[key] ?? null) : null) };
  }
  if (spec) cache.set(name, spec);
  return spec;
}

/** The known field closest to a misspelt one, for the fix of an unknown-field error. */
export function closestField(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of Object.keys(EVENT_FIELDS)) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 10) return Infinity;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = row;
  }
  return prev[b.length] ?? Infinity;
}

/**
 * One event as rules see it: field values read once and their lowercase forms computed once,
 * however many rules ask, because case-insensitive comparison is Sigma's default.
 */
export class EventView {
  event!: TrailEvent;
  manifest: AgentManifest | undefined;
  // Per field slot: the value and its lowercase text, valid while their stamp equals the view's.
  private generation = 0;
  private readonly stamps: number[] = [];
  private readonly values: FieldValue[] = [];
  private readonly lowerStamps: number[] = [];
  private readonly lowered: (string | readonly string[] | null)[] = [];

  reset(event: TrailEvent, manifest: AgentManifest | undefined): this {
    this.event = event;
    this.manifest = manifest;
    this.generation++;
    return this;
  }

  value(spec: FieldSpec): FieldValue {
    if (this.stamps[spec.slot] === this.generation) return this.values[spec.slot] ?? null;
    const v = spec.get(this.event, this.manifest);
    this.stamps[spec.slot] = this.generation;
    this.values[spec.slot] = v;
    return v;
  }

  /** Text forms for string matching: numbers and booleans as JSON writes them; null when absent. */
  text(spec: FieldSpec, lower: boolean): string | readonly string[] | null {
    if (lower && this.lowerStamps[spec.slot] === this.generation) return this.lowered[spec.slot] ?? null;
    const v = this.value(spec);
    let out: string | readonly string[] | null;
    if (v === null) out = null;
    else if (typeof v === "object") out = lower ? v.map((s) => s.toLowerCase()) : v;
    else out = lower ? String(v).toLowerCase() : String(v);
    if (lower) {
      this.lowerStamps[spec.slot] = this.generation;
      this.lowered[spec.slot] = out;
    }
    return out;
  }
}
