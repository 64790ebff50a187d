import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Alert } from "../../src/detect/alert.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { createIngestToken } from "../../src/sources/ingest-tokens.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import { eventFromBytes } from "../../src/trail/event-bytes.js";
import { runCli } from "../cli/run-cli.js";
import { AGENTS, approvedPullRequest, changeRecords } from "../faults/fault-fixture.js";
import { GitHubSimulator } from "../github-sim/index.js";
import { type CharterProcess, startCharterProcess } from "../helpers/start-charter-process.js";
import { waitFor } from "../jobs/wait-for.js";

/**
 * Live detection in the app started as npm start starts it: events posted to the trail's event
 * endpoint raise alerts in the same process, judged by the manifest a merged pull request put in
 * force; alerts reach one GitHub issue per agent and rule and a signed webhook through the job
 * queue; a crash loses no baseline and re-raises nothing; a rule proposed in a pull request
 * changes nothing until it is merged.
 */
const KEYS = generateSignerKey("charter-test-live-detection");
const SECRET = "whsec-0123456789abcdef-live";
const HOOK_PATH = "/hooks/T0KEN-IN-THE-URL";
const ROLE = "charter_agent_support_triage";
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Received {
  readonly body: string;
  readonly timestamp: string;
  readonly signature: string;
}

/** A webhook receiver on loopback that fails its first request, as a receiver being deployed would. */
async function receiver(): Promise<{ url: string; received: Received[]; attempts: () => number; server: Server }> {
  const received: Received[] = [];
  let attempts = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      attempts++;
      if (req.url !== HOOK_PATH || attempts === 1) {
        res.writeHead(500).end();
        return;
      }
      received.push({ body: Buffer.concat(chunks).toString("utf8"), timestamp: String(req.headers["x-charter-timestamp"]), signature: String(req.headers["x-charter-signature"]) });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}${HOOK_PATH}`, received, attempts: () => attempts, server };
}

function signatureValid(r: Received, secret: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac("sha256", secret).update(`${r.timestamp}.${r.body}`).digest("hex")}`);
  const given = Buffer.from(r.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

describe("live detection in the running app", () => {
  it("raises, stores and escalates alerts as events arrive, survives a crash, and takes rule changes only from merges", async () => {
    const dir = mkdtempSync(join(tmpdir(), "charter-live-detect-"));
    cleanups.push(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const db = join(dir, "trail.sqlite");
    const store = openSqliteTrail(db);
    const token = (await createIngestToken(store, { kind: "source", instance: "crm-gateway" })).token;
    await store.close();
    const hook = await receiver();
    cleanups.push(() => new Promise<void>((resolve) => hook.server.close(() => { resolve(); })));
    const sim = await GitHubSimulator.create();
    cleanups.push(() => sim.close());
    sim.addOrganization("acme");
    const repo = await sim.createRepository({ owner: "acme", name: "agents", files: AGENTS });
    const http = await sim.listen();
    cleanups.push(() => http.close());
    const start = async (): Promise<CharterProcess> => {
      const app = await startCharterProcess(sim, {
        simUrl: http.url,
        signingKey: KEYS.signerKey,
        env: {
          CHARTER_QUEUE_DB: join(dir, "queue.sqlite"),
          CHARTER_TRAIL_DB: db,
          CHARTER_TRAIL_REPOSITORY: "acme/agents",
          CHARTER_TRAIL_REFRESH_INTERVAL: "1s",
          CHARTER_ALERT_WEBHOOK_URL: hook.url,
          CHARTER_ALERT_WEBHOOK_SECRET: SECRET,
        },
      });
      cleanups.push(() => app.kill());
      sim.webhookTarget = app.webhookUrl;
      return app;
    };
    let counter = 0;
    const event = (resource: string, options: { action?: string; principal?: string; at?: number } = {}) =>
      JSON.stringify({
        eventId: `e${String(counter++)}`,
        eventTime: new Date(options.at ?? Date.now()).toISOString(),
        userIdentity: { type: "postgres-role", principalId: options.principal ?? ROLE },
        eventSource: "postgres",
        eventName: options.action ?? "select",
        resources: [{ name: resource, instance: resource.startsWith("helpdesk") ? "helpdesk-prod" : "crm-prod" }],
      });
    const post = async (app: CharterProcess, lines: readonly string[]): Promise<void> => {
      const response = await fetch(`${app.url}/api/trail/events`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson" }, body: lines.join("\n") + "\n" });
      expect(response.status).toBe(200);
      await response.body?.cancel();
    };
    const alerts = async (...args: string[]): Promise<Alert[]> => {
      const result = await runCli(["alerts", "list", "--db", db, "--format", "json", "--limit", "1000", ...args], dir);
      expect(result.stderr).toBe("");
      return (JSON.parse(result.stdout) as { alerts: Alert[] }).alerts;
    };
    const alertIssues = () => [...sim.core.state.issues.values()].filter((i) => i.labels.includes("charter-alert"));
    const issueCalls = () => (sim.calls["issues/create"] ?? 0) + (sim.calls["issues/create-comment"] ?? 0) + (sim.calls["issues/update"] ?? 0);
    /** Waits until detection has run over everything posted: a new unattributed principal's alert comes after it. */
    let markers = 0;
    const settle = async (app: CharterProcess): Promise<void> => {
      const principal = `probe-${String(markers++)}`;
      await post(app, [event("crm.public.customers", { principal })]);
      await waitFor(async () => (await alerts("--rule", "charter/unattributed")).some((a) => a.principal === principal), `the alert for ${principal}`);
      await waitFor(() => Promise.resolve(alertIssues().some((i) => i.title.includes(principal))), `the issue for ${principal}`);
    };

    /** Ingest stamps the version in force once the app has read the ledger (after each start). */
    const attributed = (app: CharterProcess) =>
      waitFor(async () => {
        await post(app, [event("crm.public.customers")]);
        const s = openSqliteTrail(db);
        try {
          const tip = await s.tip();
          const [last] = await s.readChain(tip.seq, 1);
          return last !== undefined && eventFromBytes(last.bytes, last.hash.toString("hex")).manifestSeq !== null;
        } finally {
          await s.close();
        }
      }, "events stamped with the manifest in force");
    let app = await start();
    // The manifest in force comes from the ledger: a merged change of support-triage.
    const pr = await approvedPullRequest(sim, repo, "model", "20251101");
    await sim.mergePullRequest(pr.pull, { by: "dana-support" });
    await waitFor(() => Promise.resolve(changeRecords(sim, repo).length === 1), "the change record", 60_000);
    const record = changeRecords(sim, repo)[0];
    await attributed(app);
    await settle(app);
    const baseline = issueCalls();

    // One event outside the approved permissions: one alert, one issue to the owners.
    await post(app, [event("crm.public.payments")]);
    await waitFor(async () => (await alerts("--rule", "charter/out-of-scope")).length === 1, "the out-of-scope alert");
    await waitFor(() => Promise.resolve(alertIssues().some((i) => i.title.includes("support-triage"))), "the alert's issue");
    await settle(app);
    const issue = alertIssues().find((i) => i.title.includes("support-triage"));
    expect(issue?.body).toContain("@acme/support-eng, @dana-support");
    expect(issue?.body).toContain(`/tree/${record?.body.mergeSha ?? "?"}/agents/support-triage`);
    expect(issue?.body).toMatch(/change record \[\d+\]\(.*\/blob\/charter-evidence\/records\/000\/000\/0+\d+\.json\)/);
    // The alert's issue and the probe's: one call each.
    const afterOne = issueCalls() - baseline;
    expect(afterOne).toBe(2);

    // Fifty more matching events, in fifty requests: no new alert, no further GitHub call.
    for (let i = 0; i < 50; i++) await post(app, [event("crm.public.payments")]);
    await settle(app);
    await sim.idle();
    expect(await alerts("--rule", "charter/out-of-scope")).toHaveLength(1);
    // The probe's issue is the only new one (a new unattributed principal is a new key).
    expect(issueCalls() - baseline - afterOne).toBe(1);
    expect(sim.calls["issues/create-comment"] ?? 0).toBe(0);

    // An attacker-chosen principal cannot mention anyone or inject markup into the issue.
    await post(app, [event("crm.public.customers", { principal: "@acme/security-team\n# pwned [x](http://evil)" })]);
    await waitFor(() => Promise.resolve(alertIssues().some((i) => (i.body ?? "").includes("pwned"))), "the hostile principal's issue");
    const hostile = alertIssues().find((i) => (i.body ?? "").includes("pwned"));
    let fence: string | null = null;
    let seen = 0;
    for (const line of hostile?.body?.split("\n") ?? []) {
      const opener = /^(`{3,})/.exec(line)?.[1];
      if (fence === null && opener !== undefined) fence = opener;
      else if (fence !== null && line === fence) fence = null;
      if (!line.includes("security-team")) continue;
      seen++;
      // Inside a fenced block, or else inside a code span on one line: never rendered as a mention or markup.
      if (fence === null) expect(line).toMatch(/`+ [^`]*@acme\/security-team # pwned \[x\]\(http:\/\/evil\) `+/);
    }
    expect(seen).toBeGreaterThan(1);

    // The webhook: retried after its first failure, every message signed with the secret.
    await waitFor(() => Promise.resolve(hook.received.some((r) => r.body.includes("charter/out-of-scope"))), "the webhook message");
    expect(hook.attempts()).toBeGreaterThan(hook.received.length);
    expect(hook.received.every((r) => signatureValid(r, SECRET))).toBe(true);
    expect(hook.received.some((r) => signatureValid(r, "another-secret-of-some-length"))).toBe(false);
    const message = JSON.parse(hook.received.find((r) => r.body.includes("charter/out-of-scope"))?.body ?? "{}") as { text: string; charter: { alerts: Alert[] } };
    expect(message.text).toContain("support-triage");
    expect(message.charter.alerts[0]?.owners).toEqual(["@acme/support-eng", "@dana-support"]);

    // Evaluating an alert from the CLI while the app runs: who, when, why; never backwards.
    const [outOfScope] = await alerts("--rule", "charter/out-of-scope");
    const id = outOfScope?.id.slice(0, 12) ?? "";
    expect((await runCli(["alerts", "ack", id, "--by", "dana-support", "--db", db], dir)).code).toBe(0);
    const again = await runCli(["alerts", "ack", id, "--by", "mallory", "--db", db], dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("acknowledged (by dana-support");
    expect((await runCli(["alerts", "resolve", id, "--by", "dana-support", "--reason", "test table grant removed", "--db", db], dir)).code).toBe(0);
    const shown = JSON.parse((await runCli(["alerts", "show", id, "--db", db, "--format", "json"], dir)).stdout) as { status: string; history: { from: string; to: string; by: string; reason: string | null }[] };
    expect(shown.status).toBe("resolved");
    expect(shown.history.map((h) => [h.from, h.to, h.by, h.reason])).toEqual([
      ["open", "acknowledged", "dana-support", null],
      ["acknowledged", "resolved", "dana-support", "test table grant removed"],
    ]);

    // A crash in the middle of a minute of requests: 100 before, 30 after, within 60 s of event
    // time; the limit is 120 a minute. Only a detector that kept its window across the crash sees it.
    const minute = Date.now() + 150_000;
    await post(app, Array.from({ length: 100 }, (_, i) => event("crm.public.customers", { at: minute + i * 100 })));
    await app.kill();
    const before = (await alerts()).length;
    app = await start();
    // Until the new process has read the ledger, ingest cannot attribute the role.
    await attributed(app);
    await post(app, Array.from({ length: 30 }, (_, i) => event("crm.public.customers", { at: minute + 20_000 + i * 100 })));
    // And the out-of-scope read again: already raised today, so nothing new.
    await post(app, [event("crm.public.payments")]);
    await waitFor(async () => (await alerts("--rule", "charter/rate-limit")).length === 1, "the rate-limit alert across the crash");
    await settle(app);
    expect((await alerts("--rule", "charter/out-of-scope")).length).toBe(1);
    expect((await alerts()).length).toBe(before + 2);

    // A rule proposed in a pull request is not in force; merged, it is.
    const rule = "title: Ticket updates\nid: 0d6f3c1e-2b4a-4c8d-9e7f-112233445566\nlogsource: { product: charter }\nlevel: low\ndetection:\n  sel:\n    action: update\n  condition: sel\n";
    const proposed = await sim.openPullRequest(repo, { author: "bob", branch: "rule", title: "Flag ticket updates", body: "## Rollback plan\nRevert.\n", files: { "detection/rules/ticket-updates.yml": rule } });
    await sim.idle();
    await post(app, [event("helpdesk.public.tickets", { action: "update" })]);
    await settle(app);
    await settle(app);
    expect(await alerts("--rule", "0d6f3c1e-2b4a-4c8d-9e7f-112233445566")).toEqual([]);
    await sim.submitReview(proposed.pull, { user: "dana-support", state: "APPROVED" });
    await sim.mergePullRequest(proposed.pull, { by: "dana-support" });
    await waitFor(async () => {
      await post(app, [event("helpdesk.public.tickets", { action: "update" })]);
      return (await alerts("--rule", "0d6f3c1e-2b4a-4c8d-9e7f-112233445566")).length === 1;
    }, "the merged rule's alert");

    // No secret (nor the URL, which is one for Slack) in any issue, or in the stores and the queue.
    await app.stop();
    for (const i of alertIssues()) {
      expect(i.body ?? "").not.toContain(SECRET);
      expect(i.body ?? "").not.toContain("T0KEN-IN-THE-URL");
    }
    for (const file of readdirSync(dir).filter((f) => f.includes("sqlite"))) {
      const bytes = readFileSync(join(dir, file));
      expect(bytes.includes(SECRET)).toBe(false);
      expect(bytes.includes("T0KEN-IN-THE-URL")).toBe(false);
    }
    expect(sim.rejected).toEqual([]);
    // Two app starts, a merge and dozens of requests on a busy machine.
  }, 300_000);
});
