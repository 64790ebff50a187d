import { canonicalBytes } from "../src/evidence/canonical-json.js";
import type { ChangeBody, EvidenceRecord } from "../src/schema-types/evidence-record.generated.js";
import { idempotencyKey } from "../src/evidence/ledger.js";
import { filesRoot, recordHash } from "../src/evidence/record.js";
import { generateSignerKey } from "../src/evidence/signed-note.js";
import { genesisBody, ORIGIN, REPOSITORY } from "../test/evidence/ledger-fixture.js";

/**
 * A synthetic evidence ledger with a realistic spread, built in memory for the audit benchmark:
 * `agents` agents over five years; about 55% change records (2% of them emergencies, each
 * followed by a retro-approval, most completed, some overdue, some never), 38% provisioning, 4%
 * drift, 2% exceptions, and a monthly access review. Every change carries its agent's manifest
 * copy; each agent's manifest cycles through four versions (permissions and a data class
 * toggled). Records are canonical and hash-chained as the app writes them; signatures and
 * schema validation are left out because the index does not read them.
 */
export interface SyntheticLedger {
  readonly records: Uint8Array[];
  readonly objects: Map<string, Uint8Array>;
  readonly agents: readonly string[];
  readonly reviewers: readonly string[];
  readonly start: number;
  readonly end: number;
}

const YEAR_MS = 365 * 86_400_000;
const CLASSES = ["internal", "customer-pii", "financial", "payment-card", "health", "confidential"];

export function syntheticLedger(size: number, agentCount: number): SyntheticLedger {
  const random = mulberry32(20260101);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const agents = Array.from({ length: agentCount }, (_, i) => `agent-${String(i).padStart(4, "0")}`);
  const reviewers = Array.from({ length: Math.max(10, Math.floor(agentCount / 2)) }, (_, i) => `reviewer-${i}`);
  const start = Date.UTC(2021, 0, 1);
  const end = start + 5 * YEAR_MS;
  const step = (end - start) / size;
  const encoder = new TextEncoder();
  const manifests = new Map<string, { sha: string; bytes: Uint8Array }>();
  const manifestOf = (agentIndex: number, variant: number): { sha: string; bytes: Uint8Array } => {
    const key = `${agentIndex}/${variant}`;
    let m = manifests.get(key);
    if (!m) {
      const bytes = encoder.encode(manifestText(agents[agentIndex] ?? "", agentIndex, variant));
      m = { sha: recordHash(bytes), bytes };
      manifests.set(key, m);
    }
    return m;
  };
  const versions = new Map<number, number>();
  const lastChange = new Map<number, { seq: number; sha256: string }>();
  const pendingRetro: { seq: number; sha256: string; due: number }[] = [];
  const objects = new Map<string, Uint8Array>();
  const records: Uint8Array[] = [];
  const keys = generateSignerKey(ORIGIN);
  let prev: string | null = null;
  const push = (record: Omit<EvidenceRecord, "schema" | "prev">): string => {
    const bytes = canonicalBytes({ schema: "charter.evidence/v1", prev, ...record });
    records.push(bytes);
    prev = recordHash(bytes);
    return prev;
  };
  push({ seq: 0, kind: "genesis", observedAt: iso(start), body: genesisBody(keys.verifierKey) });
  const repository = { ...REPOSITORY };
  const accessEvery = Math.max(2, Math.floor(size / 60));
  const sha40 = (n: number): string => n.toString(16).padStart(40, "0");

  for (let seq = 1; seq < size; seq++) {
    const t = Math.floor(start + seq * step);
    const observedAt = iso(t + 30_000);
    const due = pendingRetro[0];
    if (due !== undefined && due.due <= t) {
      pendingRetro.shift();
      const r = random();
      if (r < 0.05) {
        seq--;
        continue;
      }
      const outcome = r < 0.92 ? "completed" : "overdue";
      push({ seq, kind: "retro-approval", observedAt, body: { repository, emergency: { seq: due.seq, sha256: due.sha256 }, issue: seq, approvals: outcome === "completed" ? [{ reviewer: pick(reviewers), via: "owner", commitId: null, submittedAt: observedAt }] : [], outcome } });
      continue;
    }
    if (seq % accessEvery === 0) {
      push({
        seq,
        kind: "access-review",
        observedAt,
        body: {
          repository,
          commit: sha40(seq),
          asOf: observedAt,
          agents: agents.map((agent) => ({ agent, status: "active", owners: ["@acme/team"], permissions: [], dataClassifications: [], provider: "postgres", lastChange: null, lastProvisioning: null, drift: false })),
        },
      });
      continue;
    }
    const r = random();
    const agentIndex = Math.floor(random() * agents.length);
    const agent = agents[agentIndex] ?? "";
    if (r < 0.55) {
      const version = (versions.get(agentIndex) ?? -1) + 1;
      versions.set(agentIndex, version);
      const manifest = manifestOf(agentIndex, version % 4);
      objects.set(manifest.sha, manifest.bytes);
      const path = `agents/${agent}/agent.yaml`;
      const hashes = { [path]: manifest.sha };
      const emergency = version > 0 && random() < 0.02;
      const approvers = [...new Set([pick(reviewers), ...(random() < 0.5 ? [pick(reviewers)] : [])])];
      const kind = version === 0 ? "agent-created" : pick(["permission-added", "permission-removed", "data-classification-added", "data-classification-removed", "model-changed", "owners-changed", "prompt-changed"] as const);
      const mergedAt = iso(t);
      const body: ChangeBody = {
        idempotencyKey: idempotencyKey(REPOSITORY.id, seq, sha40(seq)),
        repository,
        pullRequest: { number: seq, url: `https://github.com/acme/agents/pull/${seq}`, title: `${kind} for ${agent}` },
        author: pick(reviewers),
        mergedBy: pick(reviewers),
        mergedAt,
        baseSha: sha40(seq + 1),
        headSha: sha40(seq + 2),
        mergeSha: sha40(seq),
        changes: { changes: [{ kind, agent, path, before: null, after: null, risk: "medium", summary: kind }], agents: [agent], unclassified: [], maxRisk: "medium" },
        policy: { source: "base", path: ".github/charter.yml", sha256: manifest.sha },
        decision: emergency || random() < 0.03 ? "pending" : "approved",
        result: { name: "Charter policy", status: "satisfied", summary: "All rules are satisfied.", details: [], missing: [], children: [] },
        approvals: emergency ? [] : approvers.map((reviewer) => ({ reviewer, via: "owner", commitId: sha40(seq + 2), submittedAt: mergedAt })),
        checks: [{ name: "agent evals", app: "github-actions", conclusion: random() < 0.95 ? "success" : "failure", completedAt: mergedAt, url: null }],
        rollback: { plan: "Revert the pull request.", targets: [] },
        emergency: { active: emergency, reason: emergency ? "incident" : null },
        files: { hashes, root: filesRoot(hashes) },
        copies: [manifest.sha],
      };
      const hash = push({ seq, kind: "change", observedAt, body });
      lastChange.set(agentIndex, { seq, sha256: hash });
      if (emergency) pendingRetro.push({ seq, sha256: hash, due: t + 2 * 86_400_000 });
    } else if (r < 0.93) {
      const after = lastChange.get(agentIndex) ?? null;
      const outcome = random() < 0.95 ? "converged" : "incomplete";
      push({ seq, kind: "provisioning", observedAt, body: { repository, source: after ? "change" : "reconciler", after, commit: sha40(seq), agents: [agent], plan: [], applied: [], verification: { remaining: [], escalations: [] }, outcome } });
    } else if (r < 0.97) {
      // A third of drift runs find several agents at once: one record, a line per agent.
      const drifted = random() < 0.3 ? [agent, agents[(agentIndex + 1) % agents.length] ?? agent, agents[(agentIndex + 2) % agents.length] ?? agent] : [agent];
      const findings = [...new Set(drifted)].map((a) => ({ provider: "postgres", instance: "crm-prod", agent: a, kind: "extra-grant", detail: "SELECT on crm.public.customers" }));
      push({ seq, kind: "drift", observedAt, body: { repository, commit: sha40(seq), findings, issues: [seq] } });
    } else {
      const push_ = random() < 0.5;
      push({ seq, kind: "exception", observedAt, body: { kind: push_ ? "direct-push" : "admin-bypass", repository, commits: [sha40(seq)], pullRequest: push_ ? null : { number: seq, url: `https://github.com/acme/agents/pull/${seq}`, title: "bypass" }, reason: push_ ? "pushed straight to main" : "merged by an admin", agents: [agent], issue: seq } });
    }
  }
  return { records, objects, agents, reviewers, start, end };
}

function manifestText(id: string, n: number, variant: number): string {
  const classes = ["internal", ...CLASSES.slice(1).filter((_, i) => (n + i) % (i + 3) === 0), ...(variant % 2 === 1 ? ["confidential"] : [])];
  const permissions = Array.from({ length: 2 + (n % 4) + (variant >= 2 ? 1 : 0) }, (_, i) => `postgres:select:crm.public.table_${(n + i) % 97}@crm-prod`);
  return [
    "apiVersion: charter/v1",
    "kind: Agent",
    `id: ${id}`,
    `name: Agent ${n}`,
    "purpose: Synthetic agent for the audit benchmark.",
    "status: active",
    "environment: production",
    "owners:",
    `  - team: acme/team-${n % 50}`,
    `  - user: owner-${n % 300}`,
    `dataClassifications: [${[...new Set(classes)].join(", ")}]`,
    "model:",
    "  provider: anthropic",
    "  name: claude-sonnet-4-5",
    `  version: "2025092${variant}"`,
    "prompts: []",
    "tools:",
    "  - name: crm",
    "    permissions:",
    ...[...new Set(permissions)].map((p) => `      - ${p}`),
    "credentials:",
    "  provider: postgres",
    "  maxLifetime: 1h",
    "",
  ].join("\n");
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

/** A small seeded generator, so every run builds the same ledger. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
