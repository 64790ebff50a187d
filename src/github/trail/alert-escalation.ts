import { createHmac } from "node:crypto";
import type { ProbotOctokit } from "probot";
import type { Alert, Reason } from "../../detect/alert.js";
import { CharterError } from "../../errors.js";
import { recordPath } from "../../evidence/ledger.js";
import type { JobQueue } from "../../jobs/job-queue.js";
import type { AlertStore, EscalationChannel, StoredAlert } from "../../sources/alert-store.js";
import { EVIDENCE_BRANCH } from "../merge/evidence-writer.js";

export const ALERT_ISSUE_JOB = "charter.alert-issue";
export const ALERT_WEBHOOK_JOB = "charter.alert-webhook";
const ALERT_LABEL = "charter-alert";
/** Alerts per issue comment or webhook message; more are sent in further ones. */
const PER_MESSAGE = 50;

export interface AlertTarget {
  readonly installationId: number;
  readonly owner: string;
  readonly repo: string;
  readonly repositoryUrl: string;
}

export interface AlertWebhook {
  readonly url: string;
  readonly secret: string;
}

export interface EscalationPayload {
  readonly installation?: { readonly id: number };
  readonly repository?: { readonly owner: { readonly login: string }; readonly name: string; readonly html_url: string };
  readonly escalationKey: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** CHARTER_ALERT_WEBHOOK_URL and CHARTER_ALERT_WEBHOOK_SECRET: both or neither. */
export function alertWebhookFrom(env: Env): AlertWebhook | null {
  const url = env["CHARTER_ALERT_WEBHOOK_URL"]?.trim() ?? "";
  const secret = env["CHARTER_ALERT_WEBHOOK_SECRET"] ?? "";
  if (url === "") return null;
  if (!/^https?:\/\//.test(url)) throw new CharterError("INVALID_CONFIG", "CHARTER_ALERT_WEBHOOK_URL is not an http(s) URL", { hint: "Set it to the receiver's URL, such as a Slack incoming webhook." });
  if (secret.length < 16) throw new CharterError("MISSING_SECRET", "CHARTER_ALERT_WEBHOOK_URL is set but CHARTER_ALERT_WEBHOOK_SECRET is missing or shorter than 16 characters", { hint: "Set a random secret of at least 16 characters; the receiver checks each message's HMAC-SHA256 with it." });
  return { url, secret };
}

/**
 * Puts one job per escalation key with undelivered alerts on the durable queue, per channel.
 * The job's delivery id is the newest undelivered alert's id: run every round by every replica,
 * the sweep stores each job once, and a job picks up every alert of its key waiting when it runs,
 * so the number of GitHub calls follows the alerts' keys, never the events.
 */
export async function sweepEscalations(alerts: AlertStore, jobs: JobQueue, target: AlertTarget | null, webhook: boolean): Promise<number> {
  let queued = 0;
  const channels: EscalationChannel[] = [...(target === null ? [] : ["issue" as const]), ...(webhook ? ["webhook" as const] : [])];
  for (const channel of channels) {
    for (const p of await alerts.pending(channel)) {
      const payload: EscalationPayload = {
        ...(target === null ? {} : { installation: { id: target.installationId }, repository: { owner: { login: target.owner }, name: target.repo, html_url: target.repositoryUrl } }),
        escalationKey: p.key,
      };
      const stored = await jobs.enqueue({ key: `alerts:${channel}:${p.key}`, deliveryId: `alert-${channel}:${p.newest}`, event: channel === "issue" ? ALERT_ISSUE_JOB : ALERT_WEBHOOK_JOB, payload });
      if (stored) queued++;
    }
  }
  return queued;
}

/**
 * One issue per agent and rule (the escalation key) to the agent's owners: opened with the
 * first alert, then commented on (and reopened if it was closed) with each later batch. The
 * issue number is kept in the alert store, so a repeat costs two calls whatever the
 * repository's size. Returns the GitHub calls made.
 */
export async function escalateIssue(octokit: ProbotOctokit, alerts: AlertStore, target: Omit<AlertTarget, "installationId">, key: string, now: () => number = Date.now): Promise<number> {
  let calls = 0;
  for (;;) {
    const batch = await alerts.undelivered("issue", key, PER_MESSAGE);
    const first = batch[0];
    if (first === undefined) return calls;
    const issue = await alerts.issueOf(key);
    if (issue === null) {
      const { data } = await octokit.rest.issues.create({ owner: target.owner, repo: target.repo, title: issueTitle(first.alert), labels: [ALERT_LABEL], body: issueBody(batch, target) });
      calls++;
      await alerts.setIssue(key, data.number, now());
    } else {
      await octokit.rest.issues.update({ owner: target.owner, repo: target.repo, issue_number: issue, state: "open" });
      await octokit.rest.issues.createComment({ owner: target.owner, repo: target.repo, issue_number: issue, body: commentBody(batch, target) });
      calls += 2;
    }
    await alerts.markDelivered("issue", batch.map((a) => a.alert.id), now());
  }
}

/**
 * Posts the key's undelivered alerts to the webhook as Slack-compatible JSON (`text` and
 * `blocks`, with the alerts themselves under `charter`), signed with HMAC-SHA256 over
 * `<timestamp>.<body>`: headers `X-Charter-Timestamp` and `X-Charter-Signature: sha256=<hex>`.
 * A receiver that fails or times out makes the job fail, and the queue retries it; detection
 * never waits for it. Neither the URL (a Slack URL is itself a credential) nor the secret ever
 * appears in an error.
 */
export async function deliverWebhook(alerts: AlertStore, webhook: AlertWebhook, key: string, now: () => number = Date.now, timeoutMs = 10_000): Promise<number> {
  let sent = 0;
  for (;;) {
    const batch = await alerts.undelivered("webhook", key, PER_MESSAGE);
    if (batch.length === 0) return sent;
    const body = JSON.stringify(webhookMessage(batch));
    const timestamp = String(Math.floor(now() / 1000));
    const signature = createHmac("sha256", webhook.secret).update(`${timestamp}.${body}`).digest("hex");
    let status: number;
    try {
      const response = await fetch(webhook.url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "charter-alerts", "x-charter-timestamp": timestamp, "x-charter-signature": `sha256=${signature}` },
        body,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: "error",
      });
      status = response.status;
      await response.body?.cancel();
    } catch (error) {
      throw new CharterError("IO", `the alert webhook could not be reached (${(error as Error).name})`, { hint: "The job queue retries it; check the receiver." });
    }
    if (status < 200 || status >= 300) throw new CharterError("IO", `the alert webhook answered ${String(status)}`, { hint: "The job queue retries it; check the receiver." });
    await alerts.markDelivered("webhook", batch.map((a) => a.alert.id), now());
    sent++;
  }
}

/** The message a webhook receives; exported for the documentation's example and the tests' receiver. */
function webhookMessage(batch: readonly StoredAlert[]): { text: string; blocks: unknown[]; charter: { alerts: Alert[] } } {
  const first = batch[0]?.alert;
  const who = first === undefined ? "" : first.agent === null ? `unattributed principal ${first.principal}` : `agent ${first.agent}`;
  const text = `Charter alert: ${first?.rule.title ?? ""} (${first?.severity ?? ""}) by ${who}${batch.length > 1 ? ` — ${String(batch.length)} alerts` : ""}`;
  return {
    text,
    blocks: batch.map((s) => ({ type: "section", text: { type: "plain_text", text: `${s.alert.severity} ${s.alert.rule.id}: ${s.alert.why.text}`.slice(0, 2900) } })).slice(0, 49),
    charter: { alerts: batch.map((s) => s.alert) },
  };
}

function issueTitle(alert: Alert): string {
  const who = alert.agent === null ? `unattributed principal ${oneLine(alert.principal, 60)}` : `agent ${alert.agent}`;
  return `Alert: ${oneLine(alert.rule.title, 120)} — ${who}`.slice(0, 250);
}

function issueBody(batch: readonly StoredAlert[], target: Omit<AlertTarget, "installationId">): string {
  const first = (batch[0] as StoredAlert).alert;
  const marker = `<!-- charter:alert key=${Buffer.from((batch[0] as StoredAlert).escalationKey).toString("base64url")} -->`;
  const owners = first.owners.length > 0 ? first.owners.join(", ") : "none named (no manifest owns this identity)";
  return [
    marker,
    `Charter's detection raised **${first.severity}** alerts for ${first.agent === null ? `the unattributed principal ${code(first.principal)}` : `agent ${code(first.agent)}`} under rule ${code(first.rule.id)} (${first.rule.kind}${first.rule.file === null ? "" : `, ${code(first.rule.file)}`}).`,
    "",
    `Owners: ${owners}`,
    "",
    ...batch.flatMap((s) => alertSection(s.alert, target)),
    "Later alerts for this agent and rule are added here as comments. Acknowledge or resolve each alert with `charter alerts ack|resolve ID --by LOGIN --reason TEXT`: that record (who, when, why) is the evaluation of the event. Closing this issue does not resolve the alerts.",
  ].join("\n");
}

function commentBody(batch: readonly StoredAlert[], target: Omit<AlertTarget, "installationId">): string {
  const first = (batch[0] as StoredAlert).alert;
  const events = batch.reduce((n, s) => n + s.alert.eventCount, 0);
  return [`${String(batch.length)} more alert${batch.length === 1 ? "" : "s"} (${String(events)} event${events === 1 ? "" : "s"}). Owners: ${first.owners.join(", ") || "none named"}`, "", ...batch.flatMap((s) => alertSection(s.alert, target))].join("\n");
}

function alertSection(alert: Alert, target: Omit<AlertTarget, "installationId">): string[] {
  const base = target.repositoryUrl.replace(/\/$/, "");
  const manifest =
    alert.manifest.commit === null || alert.agent === null
      ? "no approved manifest version was in force"
      : `manifest at [${alert.manifest.commit.slice(0, 12)}](${base}/tree/${encodeURIComponent(alert.manifest.commit)}/agents/${encodeURIComponent(alert.agent)})${alert.manifest.seq === null ? "" : `, change record [${String(alert.manifest.seq)}](${base}/blob/${EVIDENCE_BRANCH}/${recordPath(alert.manifest.seq)})`}`;
  const events = alert.events.slice(0, 10).map((e) => `  - ${e.observedAt.slice(0, 19)}Z seq ${String(e.seq)} event ${code(e.id)}${e.traceId === null ? "" : ` trace ${code(e.traceId)}`}`);
  return [
    `### ${code(alert.id.slice(0, 12))} ${alert.severity}: ${oneLine(alert.rule.title, 200).replace(/[[\]<>*_`#@|\\]/g, "")}`,
    "",
    `- window ${alert.window.start} – ${alert.window.end}, fired at ${alert.firedAt}; ${String(alert.eventCount)} event${alert.eventCount === 1 ? "" : "s"}${alert.dataClasses.length > 0 ? `; data: ${alert.dataClasses.map(code).join(", ")}` : ""}`,
    `- ${manifest}`,
    "- events:",
    ...events,
    ...(alert.events.length > 10 ? [`  - … ${String(alert.events.length - 10)} more (charter alerts show ${alert.id.slice(0, 12)})`] : []),
    "",
    ...fencedTree(alert.why),
    "",
  ];
}

/** Attacker-written text (principals, resources, trace ids) as a code span: no mention, link or markup is rendered inside it. */
function code(text: string): string {
  const flat = oneLine(text, 300);
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return `${fence} ${flat} ${fence}`;
}

function oneLine(text: string, max: number): string {
  // Control characters (newlines among them) would end the line or the code span they sit in.
  let flat = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    flat += c < 0x20 || c === 0x7f ? " " : text.charAt(i);
  }
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** Why the alert fired, as an indented tree in a fenced block longer than any backtick run in it. */
function fencedTree(why: Reason): string[] {
  const lines: string[] = [];
  const walk = (r: Reason, depth: number): void => {
    if (lines.length >= 40) return;
    lines.push(`${"  ".repeat(depth)}${oneLine(r.text, 300)}`);
    for (const c of r.children) walk(c, depth + 1);
  };
  walk(why, 0);
  const longest = Math.max(2, ...lines.flatMap((l) => [...l.matchAll(/`+/g)].map((m) => m[0].length)));
  const fence = "`".repeat(longest + 1);
  return [`${fence}text`, ...lines, fence];
}
