import { createHash } from "node:crypto";
import type { ProbotOctokit } from "probot";
import { canonicalText } from "../../evidence/canonical-json.js";
import type { DriftFinding } from "../../schema-types/evidence-record.generated.js";
import { parseInventory } from "../../evidence/site/inventory.js";
import { INVENTORY_JSON_PATH } from "../../evidence/site/site-paths.js";
import { parsePolicy } from "../../policy/load-policy.js";
import { POLICY_PATH } from "../../change/governed-paths.js";
import { catalogFromText, needsCatalog } from "../api/resource-catalog-at.js";
import { CATALOG_PATH } from "../../trail/resource-catalog.js";
import { closeProviders, openProviders } from "../../providers/open-providers.js";
import { providerDescriptors, providerSecrets, provisioningSettings } from "../../provision/config.js";
import { desiredState } from "../../provision/desired-state.js";
import { detectDrift } from "../../provision/engine.js";
import { NO_AGENT } from "../../provision/provider.js";
import { agentsFromInventory } from "../../evidence/site/inventory-agents.js";
import { driftBody } from "../../provision/provisioning-record.js";
import { type AppendOutcome, appendRecords, EVIDENCE_BRANCH, type EvidenceTarget } from "../merge/evidence-writer.js";
import type { ProvisioningEnvironment } from "../merge/provision-merge.js";

const DRIFT_LABEL = "charter-drift";

export interface DriftRun {
  /** Undefined when the repository does not configure provisioning or has no inventory yet. */
  readonly findings: readonly DriftFinding[] | undefined;
  readonly issues: readonly number[];
  readonly evidence: AppendOutcome | undefined;
  /** Seconds until the next run, from the policy's provisioning.driftInterval. */
  readonly intervalSeconds: number | undefined;
}

interface SourcesResult {
  readonly repository: {
    readonly inventory: { readonly __typename: string; readonly text?: string | null } | null;
    readonly policy: { readonly __typename: string; readonly text?: string | null } | null;
    readonly catalog: { readonly __typename: string; readonly text?: string | null } | null;
    readonly defaultBranchRef: { readonly target: { readonly oid: string } | null } | null;
  } | null;
}

/**
 * Drift detection for one repository: the approved state is the evidence branch's inventory,
 * the providers come from the default branch's policy, and what the systems actually hold is
 * observed read-only. Each drifted agent gets one issue (opened once, then commented on), and a
 * drift record goes to the ledger, at most once a day for the same findings.
 *
 * Requests: 1 GraphQL query for the inventory, the policy, the resource catalog and the default branch head; when there
 * is drift, 1 to list open drift issues, 1 per drifted agent, and 3 for the append.
 */
export async function runDrift(octokit: ProbotOctokit, target: EvidenceTarget, environment: ProvisioningEnvironment): Promise<DriftRun> {
  const none: DriftRun = { findings: undefined, issues: [], evidence: undefined, intervalSeconds: undefined };
  const { repository } = await octokit.graphql<SourcesResult>(
    `query CharterDriftSources($owner: String!, $name: String!, $inventory: String!, $policy: String!, $catalog: String!) {
      repository(owner: $owner, name: $name) {
        inventory: object(expression: $inventory) { __typename ... on Blob { text } }
        policy: object(expression: $policy) { __typename ... on Blob { text } }
        catalog: object(expression: $catalog) { __typename ... on Blob { text } }
        defaultBranchRef { target { oid } }
      }
    }`,
    { owner: target.owner, name: target.repo, inventory: `${target.branch ?? EVIDENCE_BRANCH}:${INVENTORY_JSON_PATH}`, policy: `HEAD:${POLICY_PATH}`, catalog: `HEAD:${CATALOG_PATH}` },
  );
  const policyText = repository?.policy?.__typename === "Blob" ? repository.policy.text : undefined;
  const head = repository?.defaultBranchRef?.target?.oid;
  if (typeof policyText !== "string" || head === undefined) return none;
  const parsed = parsePolicy(new TextEncoder().encode(policyText));
  if (!parsed.ok || parsed.policy.provisioning === undefined) return none;
  const settings = provisioningSettings(parsed.policy);
  const inventoryText = repository?.inventory?.__typename === "Blob" ? (repository.inventory.text ?? null) : null;
  if (inventoryText === null) return { ...none, intervalSeconds: settings.driftIntervalSeconds };

  // The catalog rides in the same query; object auditing's grants are observed against it.
  const catalog = needsCatalog(settings) ? catalogFromText(repository?.catalog?.__typename === "Blob" ? repository.catalog.text : null) : undefined;
  const providers = openProviders(settings, providerSecrets(settings, environment.env), { now: environment.now, access: "read", missing: "empty", ...(catalog === undefined ? {} : { catalog }) });
  let findings: DriftFinding[];
  try {
    const desired = desiredState(agentsFromInventory(parseInventory(inventoryText)), head, providerDescriptors(settings));
    findings = await detectDrift(providers, desired, { prune: settings.prune });
  } finally {
    await closeProviders(providers);
  }
  if (findings.length === 0) return { findings, issues: [], evidence: undefined, intervalSeconds: settings.driftIntervalSeconds };

  const issues = await reportDrift(octokit, target, findings);
  const body = driftBody(findings, { repository: { id: target.repositoryId, fullName: `${target.owner}/${target.repo}` }, commit: head, issues });
  if (body === undefined) return { findings, issues, evidence: undefined, intervalSeconds: settings.driftIntervalSeconds };
  const day = environment.now().toISOString().slice(0, 10);
  const fingerprint = createHash("sha256").update(canonicalText(body.findings)).digest("hex");
  const observedAt = (): string => environment.now().toISOString();
  const evidence = await appendRecords(octokit, target, {
    idempotencyKey: `drift:${target.repositoryId}:${day}:${fingerprint}`,
    records: [() => ({ kind: "drift", body, observedAt: observedAt() })],
    observedAt,
    message: (seq) => `Evidence ${seq}: drift in ${[...new Set(findings.map((f) => f.agent))].length} agent(s)`,
  });
  return { findings, issues, evidence, intervalSeconds: settings.driftIntervalSeconds };
}

/** One open issue per drifted agent: a new one, or a comment on the one still open. */
async function reportDrift(octokit: ProbotOctokit, target: EvidenceTarget, findings: readonly DriftFinding[]): Promise<number[]> {
  const byAgent = new Map<string, DriftFinding[]>();
  for (const f of findings) byAgent.set(f.agent, [...(byAgent.get(f.agent) ?? []), f]);
  const open = await octokit.paginate(octokit.rest.issues.listForRepo, { owner: target.owner, repo: target.repo, state: "open", labels: DRIFT_LABEL, per_page: 100 });
  const numbers: number[] = [];
  for (const [agent, agentFindings] of [...byAgent].sort(([a], [b]) => a.localeCompare(b))) {
    const marker = `<!-- charter:drift agent=${agent} -->`;
    const lines = agentFindings.flatMap((f) => [
      `- **${f.kind}** (${f.provider}${f.instance ? `@${f.instance}` : ""}): ${f.detail}${f.grantor && !f.detail.includes(f.grantor) ? ` — granted by \`${f.grantor}\`` : ""}${f.via ? ` — via ${f.via}` : ""}`,
      ...(f.fix ? ["", "  Fix:", ...fenced(f.fix)] : []),
    ]);
    const existing = open.find((i) => i.body?.includes(marker) === true);
    if (existing) {
      await octokit.rest.issues.createComment({ owner: target.owner, repo: target.repo, issue_number: existing.number, body: ["Drift is still present:", "", ...lines].join("\n") });
      numbers.push(existing.number);
      continue;
    }
    const { data } = await octokit.rest.issues.create({
      owner: target.owner,
      repo: target.repo,
      // "*": a finding about every agent on a provider (a grant to PUBLIC or to the marker role).
      title: (agent === "*" ? "Drift: every agent holds access no manifest approves" : agent === NO_AGENT ? "Drift: identities no manifest owns" : `Drift: agent ${agent} differs from its approved manifest`).slice(0, 250),
      labels: [DRIFT_LABEL],
      body: [
        marker,
        agent === "*" ? "What the credential systems give every agent is not what the approved manifests say:" : agent === NO_AGENT ? "The credential systems hold identities that no approved manifest owns:" : `What the credential systems hold for \`${agent}\` is not what its approved manifest says:`,
        "",
        ...lines,
        "",
        "Either remove the difference (a grant made by hand, an identity changed outside Charter) and let the next sync or drift check confirm it, or propose the access through a pull request so that it is reviewed. The finding is recorded in the evidence ledger.",
      ].join("\n"),
    });
    numbers.push(data.number);
  }
  return numbers;
}

/** A fenced block under a list item; the fence is longer than any run of backticks in the text (names may contain them). */
function fenced(text: string): string[] {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return [`  ${fence}sql`, ...text.split("\n").map((line) => `  ${line}`), `  ${fence}`];
}
