import { rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runGroup, spawnGroup } from "../helpers/child-processes.js";
import { waitFor } from "../jobs/wait-for.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

describe("npm run playground", () => {
  it("shows red, waiting, a stale approval, green; then provisioning, drift and retirement against real PostgreSQL, and an interrupted Charter that loses nothing", async () => {
    const { stdout: out } = await runGroup(process.execPath, ["--import", "tsx", "playground/playground.ts"], { cwd: root, timeoutMs: 290_000 });
    const red = out.indexOf('✖ check run "Charter": failure');
    const waiting = out.indexOf('… check run "Charter": action_required — Waiting: Needs 1 more approval from @acme/support-eng, @dana-support (support-triage)');
    const security = out.indexOf("Waiting: Needs 1 more approval from @acme/security", waiting);
    const stale = out.indexOf("@dana-support's approval is for an older commit", security);
    const green = out.indexOf('✔ check run "Charter": success', stale);
    expect(red).toBeGreaterThan(0);
    expect(waiting).toBeGreaterThan(red);
    expect(security).toBeGreaterThan(waiting);
    expect(stale).toBeGreaterThan(security);
    expect(green).toBeGreaterThan(stale);
    expect(out).toContain("| `support-triage` | model-changed | high |");
    expect(out).toContain("| `support-triage` | permission-added | critical |");
    expect(out).toMatch(/agents\/support-triage\/agent\.yaml:\d+:\d+ {2}model\/unpinned/);
    expect(out).toMatch(/agents\/support-triage\/agent\.yaml:\d+:\d+ {2}permission\/wildcard/);
    expect(out).toContain("requests GitHub would have rejected: 0");
    // The merge is recorded, verifies, and an edit to the record is caught.
    // Three records at that point: genesis, the change, and the provisioning that followed it.
    expect(out).toMatch(/charter verify --key <published key> {3}→ exit 0\n {3}verified: 3 records on origin\/charter-evidence/);
    expect(out).toMatch(/charter verify --branch tampered {3}→ exit 1\n {3}NOT verified/);
    // The run ends with its readiness report on the run's trail: the simulated repository runs no
    // CI, so change management fails on the missing tests and names the fix; the trail's items
    // judge the events the run ingested.
    expect(out).toMatch(/charter readiness --key <published key> {3}→ exit 1\n/);
    expect(out).toMatch(/\n {3}FAIL {2}change-management /);
    expect(out).toMatch(/no test or check was recorded for it\n {11}fix: Make the tests a required status check/);
    // The agent's own identity (its telemetry) and its database role (the gateway's records).
    expect(out).toMatch(/\n {3}PASS {2}inventory .*\n.*2 identities acted in the period/);
    expect(out).toMatch(/\n {3}PASS {2}queryable .*\n.*: 1 event by 1 agent\./);
    expect(out).toMatch(/\n {3}PASS {2}completeness /);

    // The approved merge provisioned the role, a lease reads what was approved and nothing else,
    // and the local registry issues a token bounded by the manifest's lifetime.
    expect(out).toMatch(/evidence record 2: provisioning after change record 1, outcome converged/);
    expect(out).toContain("applied  postgres@crm-prod  grant  SELECT on table crm.public.customers to charter_agent_support_triage");
    expect(out).toContain("role charter_agent_support_triage holds: SELECT on customers, SELECT on invoices, SELECT on orders");
    expect(out).toContain("SELECT name, plan FROM customers → Ada Lovelace (enterprise), Grace Hopper (team)");
    expect(out).toContain("SELECT * FROM payments → refused: permission denied for table payments");
    expect(out).toMatch(/charter token issue support-triage {3}→ exit 0\n/);
    const claims = /sub (\S+), manifest_sha256 [0-9a-f]{12}…, permissions (\[.*?\]), expires (\d+)s after issue/.exec(out);
    expect(claims?.[1]).toBe("support-triage");
    expect(claims?.[2]).toBe("[]");
    expect(Number(claims?.[3])).toBeGreaterThan(0);
    expect(Number(claims?.[3])).toBeLessThanOrEqual(3600);
    // A hand-made grant is drift: an issue and a record.
    expect(out).toMatch(/issue #\d+ "Drift: agent support-triage differs from its approved manifest" \[charter-drift\]/);
    expect(out).toMatch(/- \*\*foreign-grant\*\* \(postgres@crm-prod\): SELECT on table crm\.public\.payments/);
    expect(out).toMatch(/evidence record \d+: drift, 1 finding\(s\), issue \[\d+\]/);
    // Retirement removes the role on both servers and the token.
    const retired = out.indexOf("support-triage is retired");
    expect(retired).toBeGreaterThan(0);
    expect(out.indexOf("applied  local  deprovision  identity:support-triage", retired)).toBeGreaterThan(retired);
    expect(out).toContain("applied  postgres@crm-prod  drop-identity  charter_agent_support_triage");
    expect(out).toContain("role charter_agent_support_triage on crm-prod: gone; on helpdesk-prod: gone");
    expect(out).toMatch(/charter token issue support-triage {3}→ exit 2\n {3}charter: agent "support-triage" is retired/);
    // Charter's process is killed inside an append with two merges' jobs stored, a third merge's
    // webhooks fail while nothing listens; the restarted process finishes the jobs, its start-up
    // reconciliation finds the third merge, and the ledger holds one record per merge and verifies.
    const interrupted = out.slice(out.indexOf("Charter's process is killed in the middle of an append"));
    expect(interrupted).toMatch(/#\d+ and #\d+ merge, their webhooks stored as jobs; Charter's process \d+ is killed \(SIGKILL\) while it appends #\d+'s record/);
    expect(interrupted).toMatch(/#\d+ merges while no Charter listens: GitHub's 2 deliveries failed/);
    expect(interrupted).toMatch(/Charter starts again \(process \d+\) on the same queue: it takes back the interrupted job/);
    expect(interrupted).toMatch(/start-up reconciliation finds #\d+ among GitHub's merged pull requests[^\n]*\n {5}job queue: 0 queued, 0 running, 0 retrying, 0 dead; change records: #\d+ 1, #\d+ 1, #\d+ 1\n/);
    expect(interrupted).toMatch(/change records for #\d+, #\d+ and #\d+: expected 3, written 3, duplicated 0, lost 0/);
    // Six records before the step (genesis, two changes with their provisioning, the drift), then
    // a change and a provisioning per merge. (The access review first runs when Charter starts,
    // before there is a ledger, and next a month later.)
    expect(interrupted).toMatch(/charter verify --key <published key> {3}→ exit 0\n {3}verified: 12 records on origin\/charter-evidence/);

    // A push straight to the default branch is an exception with an issue, in the ledger.
    expect(out).toMatch(/alex-admin pushes [0-9a-f]{7} to main, changing agents\/code-review\/prompts\/system\.md/);
    expect(out).toMatch(/evidence record 12: exception \(direct-push\), issue #\d+ "Exception: governed files changed by a direct push/);

    // The sample agent acts after a merge that set its hours and classified the table: the events go
    // through the real ingest path, and the off-hours question and the trace show them.
    const trail = out.slice(out.indexOf("The code-review agent acts outside its hours"), out.indexOf("What it cost"));
    expect(trail).toMatch(/#\d+ merged: code-review may act (01:00–11:00|13:00–23:00) UTC/);
    expect(trail).toMatch(/charter trail ingest --source events spans\.ndjson --agent code-review {3}→ exit 0\n/);
    expect(trail).toMatch(/charter trail ingest --source events gateway\.ndjson --instance crm-gateway --attested {3}→ exit 0\n/);
    expect(trail).toMatch(/charter audit actions --outside-hours --data-class customer-pii {3}→ exit 0\n/);
    // Only the read of the classified table answers the question; the orders read is not customer data.
    expect(trail).toMatch(/ code-review +select +postgres:crm\.public\.customers@crm-prod +customer-pii +allowed +[a-z]{3} \d{2}h +no +no +record \d+ [0-9a-f]{12}/);
    expect(trail).toContain("1 of 1 event;");
    expect(trail).toMatch(/charter audit trace 4bf92f3577b34da6a3ce929d0e0e4736 {3}→ exit 0\n {5}Trace 4bf92f3577b34da6a3ce929d0e0e4736: 3 events/);
    const tool = trail.search(/events\/agent-telemetry \(self-reported\) +code-review as code-review: tool lookup_customer → allowed, OUT OF SCOPE, outside allowed hours/);
    const customers = trail.search(/events\/crm-gateway +code-review as charter_agent_code_review: select crm\.public\.customers → allowed, OUT OF SCOPE, outside allowed hours/);
    const orders = trail.search(/events\/crm-gateway +code-review as charter_agent_code_review: select crm\.public\.orders → allowed/);
    expect(tool).toBeGreaterThan(0);
    expect(customers).toBeGreaterThan(tool);
    expect(orders).toBeGreaterThan(customers);
    expect(trail).toMatch(/manifest of change record \d+ \([0-9a-f]{12}, PR #\d+, approved by pat sam\)/);

    const clone = /the auditor's clone at (\S+);/.exec(out)?.[1];
    expect(clone).toBeDefined();
    if (clone) rmSync(join(clone, ".."), { recursive: true, force: true });
    // The playground keeps its repository for the user to inspect; the test cleans up after it.
    const kept = /stays at (\S+)\/acme\/agents\.git/.exec(out)?.[1];
    expect(kept).toBeDefined();
    if (kept) rmSync(kept, { recursive: true, force: true });
    const registry = /with (\S+) \(the local token registry and the job queue\)/.exec(out)?.[1];
    expect(registry).toBeDefined();
    if (registry) rmSync(registry, { recursive: true, force: true });
  }, 300_000);

  it("stops Charter's process and the PostgreSQL servers on Ctrl-C", async () => {
    const playground = spawnGroup(process.execPath, ["--import", "tsx", "playground/playground.ts"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    playground.child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
    playground.child.stderr?.on("data", (chunk: Buffer) => (out += chunk.toString()));
    let charter: number;
    let ports: number[];
    try {
      await waitFor(() => out.includes("── 3.") || playground.child.exitCode !== null, "the playground to start Charter", 120_000);
      charter = Number(/process (\d+), listening at/.exec(out)?.[1]);
      ports = [...out.matchAll(/postgres:\/\/127\.0\.0\.1:(\d+)\//g)].map((m) => Number(m[1]));
      expect(charter).toBeGreaterThan(0);
      expect(ports).toHaveLength(2);
      // Ctrl-C reaches the playground alone here: it is the playground that must stop the rest.
      playground.child.kill("SIGINT");
      expect((await playground.exited).code).toBe(130);
    } finally {
      await playground.kill();
    }
    expect(out).toContain("Interrupted: stopping Charter's process and the PostgreSQL servers.");
    expect(alive(charter)).toBe(false);
    for (const port of ports) expect(await listening(port)).toBe(false);

    const kept = /real git repository at:\n {3}(\S+)\/acme\/agents\.git/.exec(out)?.[1];
    if (kept) rmSync(kept, { recursive: true, force: true });
    const secrets = /stored as a job in (\S+)\/queue\.sqlite/.exec(out)?.[1];
    if (secrets) rmSync(secrets, { recursive: true, force: true });
  }, 180_000);
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => { resolve(false); });
  });
}
