import { posix } from "node:path";
import type { AgentManifest, Owner } from "../schema-types/agent-manifest.generated.js";
import { parseDuration } from "../manifest/duration.js";
import type { CheckedAgent } from "../manifest/validate.js";
import type { AgentChangeKind, Change, Risk } from "./change-set.js";
import { pointerSegment } from "../manifest/json-pointer.js";
import { oneLine, plural, show } from "./display.js";
import { diffPermissions } from "./permission-diff.js";
import { sameValue } from "./same-value.js";

/** Data whose exposure is a reportable incident: granting more access to it is critical. */
const SENSITIVE_DATA: readonly string[] = ["customer-pii", "employee-pii", "financial", "payment-card", "health", "credentials"];

type Classification = AgentManifest["dataClassifications"][number];

/**
 * The manifest fields this file compares, by schema definition ("" for the top level). A test
 * holds this against schemas/agent-manifest.schema.json, so a field added to the format cannot be
 * left out of the diff unnoticed: a change nobody classifies is a change nobody approves.
 */
export const COMPARED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  "": ["apiVersion", "kind", "id", "name", "purpose", "status", "environment", "owners", "labels", "dataClassifications", "model", "prompts", "tools", "credentials", "runtime", "retirement", "identities", "contact"],
  owner: ["user", "team"],
  model: ["provider", "name", "version", "parameters"],
  prompt: ["path", "role"],
  tool: ["name", "description", "permissions"],
  credentials: ["provider", "maxLifetime", "maxConcurrentSessions"],
  runtime: ["allowedHours", "maxRequestsPerMinute", "maxCostPerDayUsd", "humanApprovalRequiredFor"],
  retirement: ["date", "reason"],
};

/** What every change of one agent shares. */
interface Scope {
  readonly agent: string;
  /** The manifest: at head, or at base for a deleted agent. */
  readonly path: string;
  readonly dir: string;
}

/**
 * Every semantic change between two versions of one agent (either may be absent). A new agent is
 * compared with nothing: besides agent-created it yields the prompts, tools, permissions and data
 * classifications it brings, so rules that select on those kinds apply to new agents too. A
 * deleted agent yields agent-deleted alone: everything it held goes with it.
 */
export function diffAgent(before: CheckedAgent | undefined, after: CheckedAgent | undefined): Change[] {
  if (!after) return before ? [deleted(before)] : [];
  const scope: Scope = { agent: after.id, path: after.file, dir: posix.dirname(after.file) };
  const a = after.manifest;
  if (!before) {
    const created = make(scope, "agent-created", "high", undefined, null, a, `new agent in ${a.environment}: ${modelText(a.model)}, ${plural(a.tools.length, "tool")}, ${plural(countPermissions(a), "permission")}`);
    return [created, ...prompts(scope, undefined, after), ...tools(scope, undefined, a), ...permissions(scope, undefined, a), ...classifications(scope, undefined, a)];
  }
  const b = before.manifest;
  const changes = [
    ...lifecycle(scope, b, a),
    ...model(scope, b, a),
    ...prompts(scope, before, after),
    ...tools(scope, b, a),
    ...permissions(scope, b, a),
    ...owners(scope, b, a),
    ...credentials(scope, b, a),
    ...classifications(scope, b, a),
    ...environment(scope, b, a),
    ...labels(scope, b, a),
    ...runtime(scope, b, a),
  ];
  if (changes.length > 0) return changes;
  const description = descriptionOnly(scope, b, a);
  return description ? [description] : [];
}

function make(scope: Scope, kind: AgentChangeKind, risk: Risk, pointer: string | undefined, before: unknown, after: unknown, summary: string, path = scope.path): Change {
  return { kind, agent: scope.agent, path, ...(pointer === undefined ? {} : { pointer }), before, after, risk, summary };
}

function deleted(before: CheckedAgent): Change {
  const b = before.manifest;
  const scope: Scope = { agent: before.id, path: before.file, dir: posix.dirname(before.file) };
  return make(scope, "agent-deleted", "medium", undefined, b, null, `agent deleted (was ${b.status} in ${b.environment})`);
}

function lifecycle(scope: Scope, b: AgentManifest, a: AgentManifest): Change[] {
  if (b.status === a.status) return [];
  const state = (m: AgentManifest): unknown => ({ status: m.status, retirement: m.retirement ?? null });
  if (a.status === "retired") {
    const why = a.retirement ? ` on ${a.retirement.date}: ${oneLine(a.retirement.reason, 100)}` : "";
    return [make(scope, "agent-retired", "medium", "/status", state(b), state(a), `agent retired${why}`)];
  }
  return [make(scope, "agent-reactivated", "high", "/status", state(b), state(a), `retired agent reactivated in ${a.environment}`)];
}

function modelText(m: AgentManifest["model"]): string {
  return oneLine(`${m.provider}/${m.name}@${m.version}`);
}

function model(scope: Scope, b: AgentManifest, a: AgentManifest): Change[] {
  const out: Change[] = [];
  const fields = (["provider", "name", "version"] as const).filter((f) => b.model[f] !== a.model[f]);
  if (fields.length > 0) {
    const pick = (m: AgentManifest["model"]): unknown => ({ provider: m.provider, name: m.name, version: m.version });
    const pointer = fields.length === 1 ? `/model/${fields[0] ?? ""}` : "/model";
    out.push(make(scope, "model-changed", "high", pointer, pick(b.model), pick(a.model), `model ${modelText(b.model)} → ${modelText(a.model)}`));
  }
  out.push(...keyed(scope, "model-parameters-changed", "medium", "/model/parameters", "model parameter", b.model.parameters, a.model.parameters));
  return out;
}

/**
 * One change per key of a map-like field whose value differs: labels, model parameters, runtime
 * constraints. Each is then one field with its own pointer.
 */
function keyed(scope: Scope, kind: AgentChangeKind, risk: Risk, base: string, noun: string, before: object | undefined, after: object | undefined, unordered = false): Change[] {
  const b = new Map<string, unknown>(Object.entries(before ?? {}));
  const a = new Map<string, unknown>(Object.entries(after ?? {}));
  const keys = [...new Set([...b.keys(), ...a.keys()])].sort();
  const out: Change[] = [];
  for (const key of keys) {
    const x = b.get(key);
    const y = a.get(key);
    if (sameValue(x, y, unordered)) continue;
    out.push(make(scope, kind, risk, `${base}/${pointerSegment(key)}`, x ?? null, y ?? null, `${noun} ${oneLine(key, 64)}: ${show(x)} → ${show(y)}`));
  }
  return out;
}

interface PromptEntry {
  readonly index: number;
  readonly role: string | null;
  readonly sha256: string | null;
}

function promptEntries(agent: CheckedAgent | undefined): Map<string, PromptEntry> {
  const out = new Map<string, PromptEntry>();
  agent?.manifest.prompts.forEach((p, index) => {
    if (out.has(p.path)) return;
    // A prompt that could not be read has no hash: compared as unknown content, so a change to or from it shows.
    const sha256 = agent.prompts.find((c) => c.declared === p.path)?.sha256 ?? null;
    out.set(p.path, { index, role: p.role ?? null, sha256 });
  });
  return out;
}

/** Prompts by declared path and content hash: an edited prompt file is a change even when the manifest is untouched. */
function prompts(scope: Scope, before: CheckedAgent | undefined, after: CheckedAgent): Change[] {
  const b = promptEntries(before);
  const a = promptEntries(after);
  const value = (declared: string, e: PromptEntry): unknown => ({ path: declared, role: e.role, sha256: e.sha256 });
  const file = (declared: string): string => posix.join(scope.dir, declared);
  const out: Change[] = [];
  for (const [declared, e] of a) {
    const old = b.get(declared);
    if (!old) {
      out.push(make(scope, "prompt-added", "high", `/prompts/${e.index}`, null, value(declared, e), `prompt added: ${oneLine(declared)}${e.role ? ` (${e.role})` : ""}`, file(declared)));
    } else if (old.sha256 !== e.sha256) {
      out.push(make(scope, "prompt-changed", "high", `/prompts/${e.index}`, value(declared, old), value(declared, e), `prompt changed: ${oneLine(declared)} (sha256 ${short(old.sha256)} → ${short(e.sha256)})`, file(declared)));
    }
  }
  for (const [declared, e] of b) {
    if (!a.has(declared)) out.push(make(scope, "prompt-removed", "medium", "/prompts", value(declared, e), null, `prompt removed: ${oneLine(declared)}`, file(declared)));
  }
  return out;
}

function short(sha: string | null): string {
  return sha === null ? "unreadable" : sha.slice(0, 12);
}

function tools(scope: Scope, b: AgentManifest | undefined, a: AgentManifest): Change[] {
  const before = new Map((b?.tools ?? []).map((t) => [t.name, t]));
  const after = new Set(a.tools.map((t) => t.name));
  const out: Change[] = [];
  a.tools.forEach((tool, index) => {
    if (!before.has(tool.name)) out.push(make(scope, "tool-added", "high", `/tools/${index}`, null, tool, `tool added: ${oneLine(tool.name)} (${plural(tool.permissions.length, "permission")})`));
  });
  for (const [name, tool] of before) {
    if (!after.has(name)) out.push(make(scope, "tool-removed", "low", "/tools", tool, null, `tool removed: ${oneLine(name)}`));
  }
  return out;
}

function permissions(scope: Scope, b: AgentManifest | undefined, a: AgentManifest): Change[] {
  return diffPermissions(b, a, {
    agent: scope.agent,
    path: scope.path,
    sensitive: a.dataClassifications.some((d) => SENSITIVE_DATA.includes(d)),
    headTools: new Map(a.tools.map((t, i) => [t.name, i])),
  });
}

function countPermissions(m: AgentManifest): number {
  return new Set(m.tools.flatMap((t) => t.permissions)).size;
}

function ownerKey(owner: Owner): string {
  return owner.user !== undefined ? `user:${owner.user}` : `team:${owner.team ?? ""}`;
}

/**
 * Owners as a set: reordering them changes nothing. The agent's own accounts (identities) are
 * reported with them: both decide whose approval counts, since reviews from the agent's accounts
 * never do.
 */
function owners(scope: Scope, b: AgentManifest, a: AgentManifest): Change[] {
  const out: Change[] = [];
  const before = new Set(b.owners.map(ownerKey));
  const after = new Set(a.owners.map(ownerKey));
  const added = [...after].filter((o) => !before.has(o)).sort();
  const removed = [...before].filter((o) => !after.has(o)).sort();
  if (added.length > 0 || removed.length > 0) {
    const summary = `owners: ${[...added.map((o) => `+${o}`), ...removed.map((o) => `-${o}`)].join(", ")}`;
    out.push(make(scope, "owners-changed", "high", "/owners", b.owners, a.owners, oneLine(summary, 200)));
  }
  out.push(...keyed(scope, "owners-changed", "high", "/identities", "agent identity", b.identities, a.identities));
  return out;
}

function credentials(scope: Scope, b: AgentManifest, a: AgentManifest): Change[] {
  const out: Change[] = [];
  const x = b.credentials;
  const y = a.credentials;
  if (x.maxLifetime !== y.maxLifetime) {
    const before = parseDuration(x.maxLifetime);
    const after = parseDuration(y.maxLifetime);
    // "60m" → "1h" is the same lifetime. An unparseable base (it was invalid) counts as raised.
    if (before === undefined || after === undefined || before !== after) {
      const raised = before === undefined || after === undefined || after > before;
      const summary = `credential lifetime ${raised ? "raised" : "lowered"}: ${oneLine(x.maxLifetime)} → ${oneLine(y.maxLifetime)}`;
      out.push(make(scope, raised ? "credential-lifetime-raised" : "credential-lifetime-lowered", raised ? "medium" : "low", "/credentials/maxLifetime", x.maxLifetime, y.maxLifetime, summary));
    }
  }
  if (x.provider !== y.provider) {
    out.push(make(scope, "credential-provider-changed", "high", "/credentials/provider", x.provider, y.provider, `credential provider: ${x.provider} → ${y.provider}`));
  }
  // Concurrent sessions bound the agent's behaviour at run time like the runtime block does; no
  // kind of its own exists for it, and leaving it out would hide a change.
  if (x.maxConcurrentSessions !== y.maxConcurrentSessions) {
    out.push(
      make(scope, "runtime-changed", "medium", "/credentials/maxConcurrentSessions", x.maxConcurrentSessions ?? null, y.maxConcurrentSessions ?? null, `credentials maxConcurrentSessions: ${show(x.maxConcurrentSessions)} → ${show(y.maxConcurrentSessions)}`),
    );
  }
  return out;
}

function classifications(scope: Scope, b: AgentManifest | undefined, a: AgentManifest): Change[] {
  const before = new Set<Classification>(b?.dataClassifications ?? []);
  const after = new Set<Classification>(a.dataClassifications);
  const out: Change[] = [];
  a.dataClassifications.forEach((d, index) => {
    if (!before.has(d)) out.push(make(scope, "data-classification-added", "high", `/dataClassifications/${index}`, null, d, `data classification added: ${d}`));
  });
  for (const d of before) {
    if (!after.has(d)) out.push(make(scope, "data-classification-removed", "low", "/dataClassifications", d, null, `data classification removed: ${d}`));
  }
  return out;
}

function environment(scope: Scope, b: AgentManifest, a: AgentManifest): Change[] {
  if (b.environment === a.environment) return [];
  return [make(scope, "environment-changed", "medium", "/environment", b.environment, a.environment, `environment: ${b.environment} → ${a.environment}`)];
}

function labels(scope: Scope, b: AgentManifest, a: AgentManifest): Change[] {
  return keyed(scope, "labels-changed", "medium", "/labels", "label", b.labels, a.labels);
}

function runtime(scope: Scope, b: AgentManifest, a: AgentManifest): Change[] {
  // Every list under runtime is a set (days, tool names): reordering one is not a change.
  return keyed(scope, "runtime-changed", "medium", "/runtime", "runtime", b.runtime, a.runtime, true);
}

/**
 * Text that informs people but grants nothing: names, purpose, contact, tool descriptions, prompt
 * roles, and the retirement note of an agent that stays retired. Reported as one low-risk change
 * when nothing else changed, so an edit is never invisible.
 */
function descriptionOnly(scope: Scope, b: AgentManifest, a: AgentManifest): Change | undefined {
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  const labelsOf: string[] = [];
  const note = (pointer: string, label: string, x: unknown, y: unknown): void => {
    if (sameValue(x, y)) return;
    before[pointer] = x ?? null;
    after[pointer] = y ?? null;
    labelsOf.push(label);
  };
  note("/name", "name", b.name, a.name);
  note("/purpose", "purpose", b.purpose, a.purpose);
  note("/contact", "contact", b.contact, a.contact);
  const oldTools = new Map(b.tools.map((t) => [t.name, t]));
  a.tools.forEach((tool, i) => {
    const old = oldTools.get(tool.name);
    if (old) note(`/tools/${i}/description`, `tool ${oneLine(tool.name)} description`, old.description, tool.description);
  });
  const oldPrompts = new Map(b.prompts.map((p) => [p.path, p]));
  a.prompts.forEach((prompt, i) => {
    const old = oldPrompts.get(prompt.path);
    if (old) note(`/prompts/${i}/role`, `prompt ${oneLine(prompt.path)} role`, old.role, prompt.role);
  });
  note("/retirement", "retirement note", b.retirement, a.retirement);
  const pointers = Object.keys(after);
  if (pointers.length === 0) return undefined;
  const pointer = pointers.length === 1 ? pointers[0] : undefined;
  return make(scope, "description-only", "low", pointer, before, after, oneLine(`description only: ${labelsOf.join(", ")}`, 200));
}
