import type { Context } from "probot";
import { parseCanonical } from "../../evidence/canonical-json.js";
import type { EvidenceRecord } from "../../schema-types/evidence-record.generated.js";
import { idempotencyKey } from "../../evidence/ledger.js";
import { recordHash } from "../../evidence/record.js";
import { parseInventory } from "../../evidence/site/inventory.js";
import { approvalCommenters, assessRetroReview, isApprovalComment } from "../../policy/retro-review.js";
import { appendRecords, EVIDENCE_BRANCH, evidenceTarget, findRecorded } from "./evidence-writer.js";
import { GraphqlFileLoader } from "../api/graphql-file-loader.js";
import { evidenceLane } from "../ops/lanes.js";
import type { HandlerEnvironment } from "./handler-environment.js";
import { readInventoryIdentities } from "../api/inventory-identities.js";
import { isActiveMember } from "../pull-request/pull-facts-reader.js";

const MARKER = /<!-- charter:retro-review pr=(\d+) merge=([0-9a-f]{40}(?:[0-9a-f]{24})?)(?: due=(\d{4}-\d{2}-\d{2}))? -->/;
const DEFAULT_DUE_DAYS = 3;
const DAY_MS = 86_400_000;

/**
 * An `/approve` comment on a retro-review issue. When every agent the emergency change touched
 * has an approval from its own owners, a retro-approval record closes the emergency change in
 * the ledger (flagged overdue when it came after the due date), and the issue is told so.
 *
 * The issue's marker only says which change to look at: the change itself is read from the
 * ledger (its record must be an emergency change, and its bytes must hash to what the marker
 * file names), and the owners from the inventory the ledger carries, never from the issue text.
 */
export async function handleRetroComment(context: Context<"issue_comment.created">, env: HandlerEnvironment): Promise<void> {
  const { issue, comment, repository } = context.payload;
  const signingKey = env.signingKey;
  if (!signingKey || issue.pull_request || !isApprovalComment(comment.body)) return;
  const marker = MARKER.exec(issue.body ?? "");
  if (!marker || issue.user.type !== "Bot") return;
  const owner = repository.owner.login;
  const target = evidenceTarget(repository, signingKey);
  const [, pr, mergeSha, dueDate] = marker;

  await env.queue.run(evidenceLane({ owner, repo: repository.name }), async () => {
    const found = await findRecorded(context.octokit, target, idempotencyKey(repository.id, Number(pr), mergeSha ?? ""));
    if (found === null || recordHash(new TextEncoder().encode(found.record)) !== found.sha256) {
      context.log.warn({ delivery: context.id, issue: issue.number }, "charter: retro-review names a change that is not in the evidence ledger");
      return;
    }
    const record = parseCanonical(new TextEncoder().encode(found.record)) as EvidenceRecord;
    if (record.kind !== "change" || !record.body.emergency.active) return;

    const inventory = parseInventory(found.inventory);
    const agents = new Map(record.body.changes.agents.flatMap((id) => (inventory[id] ? [[id, inventory[id].owners] as const] : [])));
    const comments = (await context.octokit.paginate(context.octokit.rest.issues.listComments, { owner, repo: repository.name, issue_number: issue.number, per_page: 100 })).map((c) => ({
      user: c.user?.login ?? "",
      userType: c.user?.type ?? "User",
      body: c.body ?? "",
      createdAt: c.created_at,
    }));
    // No agent's own account closes a retro-review: every identity of the inventory as it is
    // now on the default branch (one listing query; manifests read only when never seen).
    const identities = await readInventoryIdentities(new GraphqlFileLoader(context.octokit, owner, repository.name), repository.default_branch, env.identities);
    const people = { author: record.body.author, contributors: record.body.contributors ?? [], agentIdentities: identities.identities };
    // Membership is looked up only for people who said /approve, in the teams that own the agents.
    const teams = [...new Set([...agents.values()].flat().filter((o) => o.startsWith("team:")).map((o) => o.slice(5).toLowerCase()))];
    const teamMembers: Record<string, string[]> = {};
    for (const user of approvalCommenters({ comments, ...people })) {
      for (const team of teams) {
        const [org, slug] = team.split("/");
        if (org && slug && (await isActiveMember(context.octokit, org, slug, user))) (teamMembers[team] ??= []).push(user);
      }
    }
    const assessment = assessRetroReview({ agents, ...people, comments, teamMembers });
    if (!assessment.complete) {
      context.log.info({ delivery: context.id, issue: issue.number, missing: assessment.missing }, "charter: retro-review still needs owner approvals");
      return;
    }
    const due = dueDate !== undefined ? Date.parse(`${dueDate}T23:59:59Z`) : Date.parse(record.body.mergedAt) + DEFAULT_DUE_DAYS * DAY_MS;
    const outcome = env.now().getTime() > due ? "overdue" : "completed";
    const appended = await appendRecords(context.octokit, target, {
      idempotencyKey: `retro-approval:${repository.id}:${found.seq}`,
      records: [
        () => ({
          kind: "retro-approval",
          observedAt: env.now().toISOString(),
          body: { repository: { ...record.body.repository }, emergency: { seq: found.seq, sha256: found.sha256 }, issue: issue.number, approvals: assessment.approvals, outcome },
        }),
      ],
      observedAt: () => env.now().toISOString(),
      message: (seq) => `Evidence ${seq}: retro-review of record ${found.seq} ${outcome}`,
    });
    if (appended.status !== "appended") return;
    await context.octokit.rest.issues.createComment({
      owner,
      repo: repository.name,
      issue_number: issue.number,
      body: `Retro-review ${outcome === "overdue" ? "completed **after its due date** (flagged overdue)" : "complete"}: approved by ${assessment.approvals.map((a) => `@${a.reviewer}`).join(", ")}. Recorded as evidence record ${appended.seq} on \`${EVIDENCE_BRANCH}\`, closing emergency change record ${found.seq}.`,
    });
    context.log.info({ delivery: context.id, issue: issue.number, evidence: appended }, "charter: retro-approval recorded");
  });
}
