import { manifestPathOf } from "../evidence/manifest-path.js";
import { instantOf } from "../evidence/instant.js";
import type { ChangeRecord } from "../schema-types/evidence-record.generated.js";
import { decodeText } from "../manifest/decode.js";
import { DEFAULT_LIMITS } from "../manifest/limits.js";
import { parseYaml } from "../manifest/parse-yaml.js";
import { type Permission, parsePermission } from "../manifest/permission.js";
import type { Weekday } from "./event.js";
import type { AllowedHours } from "./local-time.js";

/**
 * Which manifest was in force for an agent at a moment, as the evidence ledger records it: each
 * change record puts the merged manifest in force at GitHub's merge time. This is the
 * authorization an action is judged against, stamped on the event at ingest (change record seq
 * and merge commit lead to the pull request and its approvers).
 */
export interface ManifestVersion {
  readonly agent: string;
  /** The change record's seq and the SHA-256 of its stored bytes. */
  readonly seq: number;
  readonly recordHash: string;
  /** The merge commit. */
  readonly commit: string;
  readonly effectiveMs: number;
  readonly pullRequest: number;
  readonly decision: string;
  readonly approvers: readonly string[];
  /** active, retired, deleted, or unknown when the manifest's copy could not be read. */
  readonly status: string;
  /** Whether the manifest's own text was read (a copy on the branch); otherwise nothing below is known. */
  readonly known: boolean;
  readonly permissions: readonly Permission[];
  readonly tools: readonly string[];
  readonly dataClasses: readonly string[];
  readonly allowedHours: AllowedHours | null;
}

/** What ingest needs from one manifest's text; every field read defensively (the copy is pull request content). */
export interface ManifestRuntimeFacts {
  readonly status: string;
  readonly permissions: readonly Permission[];
  readonly tools: readonly string[];
  readonly dataClasses: readonly string[];
  readonly allowedHours: AllowedHours | null;
}

const WEEKDAYS: readonly string[] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const HHMM = /^(?:[01][0-9]|2[0-3]):[0-5][0-9]$/;

export function manifestRuntimeFacts(bytes: Uint8Array): ManifestRuntimeFacts | null {
  const decoded = decodeText("manifest copy", bytes, DEFAULT_LIMITS.maxManifestBytes, "manifest");
  if (!decoded.ok) return null;
  const parsed = parseYaml("manifest copy", decoded.text, DEFAULT_LIMITS);
  if (!parsed.ok) return null;
  const value = asRecord(parsed.parsed.value);
  if (value === undefined) return null;
  const permissions = new Map<string, Permission>();
  const tools: string[] = [];
  for (const tool of asList(value["tools"])) {
    const t = asRecord(tool);
    if (typeof t?.["name"] === "string") tools.push(t["name"]);
    for (const p of asList(t?.["permissions"])) {
      if (typeof p !== "string") continue;
      const parsedPermission = parsePermission(p);
      if (parsedPermission.ok) permissions.set(p, parsedPermission.permission);
    }
  }
  const hours = asRecord(asRecord(value["runtime"])?.["allowedHours"]);
  let allowedHours: AllowedHours | null = null;
  if (hours !== undefined) {
    const { timezone, days, start, end } = hours;
    const dayList = asList(days).filter((d): d is Weekday => typeof d === "string" && WEEKDAYS.includes(d));
    if (typeof timezone === "string" && typeof start === "string" && typeof end === "string" && HHMM.test(start) && HHMM.test(end) && dayList.length > 0) {
      allowedHours = { timezone, days: dayList, start, end };
    }
  }
  return {
    status: typeof value["status"] === "string" ? value["status"] : "unknown",
    permissions: [...permissions.values()],
    tools,
    dataClasses: [...new Set(asList(value["dataClassifications"]).filter((c): c is string => typeof c === "string"))].sort(),
    allowedHours,
  };
}

/**
 * The versions of each agent's manifest, in effect order. Built from change records in log
 * order; the manifest copies they list are read by the caller (from a clone or through the API).
 */
export class ManifestTimeline {
  readonly #versions = new Map<string, ManifestVersion[]>();
  /** Records read so far: a refresh continues from here. */
  size = 0;

  /** Adds the versions a change record puts in force. `copies` maps manifest SHA-256 to its facts (null: unreadable). */
  addChange(seq: number, recordHash: string, record: ChangeRecord, copies: ReadonlyMap<string, ManifestRuntimeFacts | null>): void {
    const b = record.body;
    const effectiveMs = instantOf(b.mergedAt) ?? instantOf(record.observedAt) ?? 0;
    const deleted = new Set(b.changes.changes.filter((c) => c.kind === "agent-deleted").map((c) => c.agent));
    const approvers = [...new Set(b.approvals.map((a) => a.reviewer))];
    for (const agent of new Set(b.changes.agents)) {
      const path = manifestPathOf(record, agent);
      const sha = path === undefined ? undefined : b.files.hashes[path];
      const facts = sha === undefined ? null : (copies.get(sha) ?? null);
      const gone = deleted.has(agent) && sha === undefined;
      this.add({
        agent,
        seq,
        recordHash,
        commit: b.mergeSha,
        effectiveMs,
        pullRequest: b.pullRequest.number,
        decision: b.decision,
        approvers,
        status: gone ? "deleted" : (facts?.status ?? "unknown"),
        known: facts !== null || gone,
        permissions: facts?.permissions ?? [],
        tools: facts?.tools ?? [],
        dataClasses: facts?.dataClasses ?? [],
        allowedHours: facts?.allowedHours ?? null,
      });
    }
  }

  add(version: ManifestVersion): void {
    let list = this.#versions.get(version.agent);
    if (list === undefined) this.#versions.set(version.agent, (list = []));
    list.push(version);
    // Records arrive in log order, which is nearly always merge order; keep the list sorted anyway.
    if (list.length > 1 && compare(list[list.length - 2] as ManifestVersion, version) > 0) list.sort(compare);
  }

  /** The version in force for `agent` at `ms`: the last one merged at or before it. */
  at(agent: string, ms: number): ManifestVersion | null {
    const list = this.#versions.get(agent);
    if (list === undefined) return null;
    let lo = 0;
    let hi = list.length - 1;
    let found: ManifestVersion | null = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = list[mid] as ManifestVersion;
      if (v.effectiveMs <= ms) {
        found = v;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  agents(): string[] {
    return [...this.#versions.keys()].sort();
  }

  /** Every version of one agent, oldest first. */
  versions(agent: string): readonly ManifestVersion[] {
    return this.#versions.get(agent) ?? [];
  }
}

function compare(a: ManifestVersion, b: ManifestVersion): number {
  return a.effectiveMs - b.effectiveMs || a.seq - b.seq;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function asList(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}
