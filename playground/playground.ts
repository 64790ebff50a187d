/**
 * npm run playground — a narrated end-to-end run of Charter against the GitHub simulator, on a
 * machine with no GitHub account and no network. It seeds a simulated repository with this
 * repository's own agents/, runs the real app as production does (its own process, Probot,
 * signed webhooks stored in a durable job queue before they are answered, validated API calls),
 * and walks through a pull request that goes red, then green. Two throwaway PostgreSQL servers
 * stand in for the agent's databases, so the approved merge provisions real roles, a hand-made
 * grant is reported as drift, and retiring the agent removes what was provisioned. Then Charter's
 * process is killed in the middle of an append while merges land, and started again: nothing is lost.
 */
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCanonical } from "../src/evidence/canonical-json.js";
import type { ChangeRecord, DriftRecord, EvidenceRecord, ExceptionRecord, ProvisioningOperation, ProvisioningRecord } from "../src/schema-types/evidence-record.generated.js";
import { generateSignerKey } from "../src/evidence/signed-note.js";
import type { JobQueue, QueueStats } from "../src/jobs/job-queue.js";
import { openJobQueue } from "../src/jobs/open-queue.js";
import { createPostgresProvider, identityRoleName, roleNames } from "../src/providers/postgres/index.js";
import { GitHubSimulator } from "../test/github-sim/index.js";
import type { CheckRun, PullRequest, Repository } from "../test/github-sim/state.js";
import { runCli, type CliResult } from "../test/cli/run-cli.js";
import { tally } from "../test/faults/fault-fixture.js";
import { ownAgents } from "../test/helpers/agents-fixture.js";
import { saveEnv } from "../test/helpers/saved-env.js";
import { type CharterProcess, startCharterProcess } from "../test/helpers/start-charter-process.js";
import { waitFor } from "../test/jobs/wait-for.js";
import { type Cluster, login, PROVISIONER, startCluster } from "../test/providers/postgres/fixture.js";

const TRIAGE = "agents/support-triage/agent.yaml";
/** Bounds a broken run only: Charter normally finishes what it was sent in well under a second. */
const SETTLE_TIMEOUT_MS = 120_000;

/** Set by the signal handler (an object, so that the checks on it are not narrowed away). */
const interruption: { signal?: NodeJS.Signals } = {};

// Once interrupted, the story stops: what runs on until the teardown cuts it short says nothing.
const say = (text = ""): void => {
  if (interruption.signal === undefined) process.stdout.write(text + "\n");
};
const step = (n: number, text: string): void => {
  say(`\n── ${n}. ${text}`);
};

function show(run: CheckRun | undefined): void {
  if (!run) {
    say("   (no check run)");
    return;
  }
  const mark = run.conclusion === "success" ? "✔" : run.conclusion === "action_required" ? "…" : "✖";
  say(`   ${mark} check run "${run.name}": ${run.conclusion ?? run.status} — ${run.output.title ?? ""}`);
  for (const a of run.output.annotations) say(`     ${a.path}:${a.start_line}:${a.start_column ?? 1}  ${(a.title ?? "").replace(/^Charter /, "")}  ${a.message}`);
}

function charterRun(sim: GitHubSimulator, repo: Repository, sha: string): CheckRun | undefined {
  return sim.checkRunsFor(repo, sha).find((run) => run.name === "Charter");
}

const POLICY = `version: 1
rules:
  - name: Owners approve every agent change
    require: { approvals: 1, from: { owners: true }, sections: [Rollback plan] }
  - name: Security approves access expansions
    when: { changes: [permission-added, permission-widened, tool-added] }
    require: { approvals: 1, from: { teams: [acme/security] } }
governance:
  require: { approvals: 1, from: { teams: [acme/security] } }
provisioning:
  providers:
    local: { enabled: true }
    postgres:
      - instance: crm-prod
        databases: [crm]
      - instance: helpdesk-prod
        databases: [helpdesk]
`;

const CRM = `CREATE TABLE customers (id int PRIMARY KEY, name text, plan text);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int, total_cents int);
CREATE TABLE invoices (id int PRIMARY KEY, order_id int, due date);
CREATE TABLE payments (id int PRIMARY KEY, invoice_id int, card_last4 text);
INSERT INTO customers VALUES (1, 'Ada Lovelace', 'enterprise'), (2, 'Grace Hopper', 'team');
INSERT INTO orders VALUES (10, 1, 129900);
INSERT INTO invoices VALUES (100, 10, '2026-12-01');
INSERT INTO payments VALUES (1000, 100, '4242');`;
const HELPDESK = `CREATE TABLE tickets (id int PRIMARY KEY, subject text, category text, priority text);
INSERT INTO tickets VALUES (1, 'Invoice missing', NULL, NULL);`;
// What the provisioner may hand out: exactly what the story's manifests ask for. payments is
// not among them, so only a superuser can grant it, which is the drift step.
const CRM_GRANTABLE = ["customers", "orders", "invoices"].map((t) => `postgres:select:crm.public.${t}@crm-prod`);
const HELPDESK_GRANTABLE = ["select", "update"].map((p) => `postgres:${p}:helpdesk.public.tickets@helpdesk-prod`);

const BODY = "Move triage to the November model and let it read invoices.\n\n## Rollback plan\nRevert this pull request; the previous model and grants are in git history.\n";

function showRules(run: CheckRun | undefined): void {
  const summary = run?.output.summary ?? "";
  const needed = /\*\*Still needed:\*\*\n((?:- .*\n)+)/.exec(summary)?.[1];
  if (needed) for (const line of needed.trimEnd().split("\n")) say(`     ${line}`);
}

/** The evidence branch's records, read straight from the simulated repository. */
function ledger(sim: GitHubSimulator, repo: Repository): EvidenceRecord[] {
  const git = (...args: string[]): string => execFileSync("git", ["--git-dir", sim.repoPath(repo), ...args], { encoding: "utf8" });
  return git("ls-tree", "-r", "--name-only", "charter-evidence", "--", "records/")
    .trim()
    .split("\n")
    .map((path) => parseCanonical(new TextEncoder().encode(git("show", `charter-evidence:${path}`))) as EvidenceRecord)
    .sort((a, b) => a.seq - b.seq);
}

function operation(op: ProvisioningOperation): string {
  return `${op.status ?? "planned"}  ${op.provider}${op.instance ? `@${op.instance}` : ""}  ${op.action}  ${op.target}`;
}

async function roleOn(cluster: Cluster, role: string): Promise<boolean> {
  return (await cluster.sql("postgres", "SELECT 1 FROM pg_roles WHERE rolname = $1", [role])).length === 1;
}

/**
 * `charter token issue` run in-process, as an operator would in a shell holding the registry's
 * path and the token signing key. The variables are set for this call only: the rest of the run
 * (and the app) must not depend on this process's environment.
 */
async function tokenIssue(agent: string, cwd: string, env: Readonly<Record<string, string>>): Promise<CliResult> {
  const restore = saveEnv(Object.keys(env));
  Object.assign(process.env, env);
  try {
    return await runCli(["token", "issue", agent], cwd);
  } finally {
    restore();
  }
}

function jwtClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
}

function unfinished(stats: QueueStats): number {
  return stats.queued + stats.running + stats.retrying;
}

function queueLine(stats: QueueStats): string {
  return `${stats.queued} queued, ${stats.running} running, ${stats.retrying} retrying, ${stats.dead} dead`;
}

/**
 * Waits until Charter has finished what GitHub sent it: no webhook delivery in flight and no job
 * queued, running or retrying. A job's API calls make GitHub send more webhooks (check runs, the
 * evidence branch's pushes), each registered before the call is answered, so the queue is read
 * again after those deliveries are done.
 */
async function settle(sim: GitHubSimulator, queue: JobQueue, charter: CharterProcess, what: string): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    if (charter.child.exitCode !== null || charter.child.signalCode !== null) {
      throw new Error(`playground: Charter's process ended (${String(charter.child.exitCode ?? charter.child.signalCode)}) before it finished ${what}`);
    }
    await sim.idle();
    if (unfinished(await queue.stats()) === 0) {
      await sim.idle();
      if (unfinished(await queue.stats()) === 0) return;
    }
    if (Date.now() > deadline) {
      throw new Error(`playground: Charter did not finish ${what} within ${String(SETTLE_TIMEOUT_MS / 1000)} s; its job queue: ${queueLine(await queue.stats())} (see charter jobs)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * What the playground started and must stop, on the way out or on Ctrl-C: run once, last first,
 * and every step runs even if an earlier one fails.
 */
class Teardown {
  readonly #steps: (() => Promise<unknown>)[] = [];
  #running: Promise<void> | undefined;

  add(step: () => Promise<unknown>): void {
    this.#steps.push(step);
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      for (const step of this.#steps.splice(0).reverse()) await Promise.allSettled([Promise.resolve().then(step)]);
    })();
    return this.#running;
  }
}

const teardown = new Teardown();
// Ctrl-C reaches this process (and, from a terminal, its children): Charter's process, the
// PostgreSQL servers and the simulator are stopped before exiting, so nothing is left running.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interruption.signal = signal;
    // From here on, a failure is the work the teardown cuts short (a request to the stopped app,
    // a closed database), wherever it surfaces: it must not replace the signal's exit status.
    process.on("unhandledRejection", () => undefined);
    process.on("uncaughtException", () => undefined);
    process.stdout.write("\nInterrupted: stopping Charter's process and the PostgreSQL servers.\n");
    void teardown.run().finally(() => process.exit(128 + (signal === "SIGINT" ? 2 : 15)));
  });
}

async function main(): Promise<void> {
  say("Charter playground: a simulated GitHub, the real Charter app, no network.");
  const sim = await GitHubSimulator.create({ keepTempDirs: true });
  teardown.add(() => sim.close());
  const agents = ownAgents();
  const clusters: Cluster[] = [];
  try {
    step(1, "A repository acme/agents holding this project's sample agents and an approval policy");
    sim.addOrganization("acme");
    sim.addTeam("acme", "support-eng", ["tara"]);
    sim.addTeam("acme", "security", ["sam"]);
    sim.addTeam("acme", "platform", ["pat"]);
    const repo = await sim.createRepository({ owner: "acme", name: "agents", files: { ...agents, ".github/charter.yml": POLICY, "README.md": "# Acme's AI agents\n" } });
    say(`   ${Object.keys(agents).filter((p) => p.endsWith("agent.yaml")).length} agents; .github/charter.yml: owners approve every change, @acme/security approves access expansions.`);
    say("   The repository is a real git repository at:");
    say(`   ${sim.repoPath(repo)}`);
    say(`   (inspect it with: git --git-dir ${sim.repoPath(repo)} log --all --stat)`);
    // Started side by side; whichever starts is stopped at the end even if the other fails.
    const starting = [startCluster({ crm: CRM }, CRM_GRANTABLE), startCluster({ helpdesk: HELPDESK }, HELPDESK_GRANTABLE)];
    for (const cluster of starting) teardown.add(() => cluster.then((c) => c.stop()));
    const started = await Promise.allSettled(starting);
    for (const s of started) if (s.status === "fulfilled") clusters.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    const [crm, helpdesk] = clusters;
    if (!crm || !helpdesk) throw new Error("the PostgreSQL servers did not start");
    say("   Two throwaway PostgreSQL servers play the agents' databases; Charter reaches them as charter_provisioner, not a superuser:");
    say(`     crm-prod       postgres://${crm.server.host}:${crm.server.port}/crm        customers, orders, invoices, payments`);
    say(`     helpdesk-prod  postgres://${helpdesk.server.host}:${helpdesk.server.port}/helpdesk   tickets`);

    step(2, "Charter starts as a GitHub App (Probot), in a process of its own, and receives signed webhooks over HTTP");
    // A signing key made for this run; a real deployment reads CHARTER_SIGNING_KEY.
    const keys = generateSignerKey("charter-playground-evidence");
    // Provider secrets are passed in rather than read from this process's environment, so that
    // nothing the user has exported can point the playground at a real database.
    const secrets = mkdtempSync(join(tmpdir(), "charter-playground-secrets-"));
    const localDb = join(secrets, "local.sqlite");
    const environment = {
      CHARTER_LOCAL_DB: localDb,
      // The app's audit index (for access reviews) stays beside the other throwaway state.
      CHARTER_AUDIT_DIR: join(secrets, "audit"),
      CHARTER_POSTGRES_URL_CRM_PROD: crm.server.urlFor("postgres", PROVISIONER, crm.provisionerPassword),
      CHARTER_POSTGRES_URL_HELPDESK_PROD: helpdesk.server.urlFor("postgres", PROVISIONER, helpdesk.provisionerPassword),
    };
    // Production's embedded queue: one SQLite file, here beside the other throwaway state.
    const queuePath = join(secrets, "queue.sqlite");
    const api = await sim.listen();
    teardown.add(() => api.close());
    const queue = openJobQueue({ CHARTER_QUEUE_DB: queuePath });
    teardown.add(() => queue.close());
    // The app's whole environment: its queue and its provider secrets, nothing from this shell.
    // Its schedule timer is set to an hour, longer than the story: as in production, every start
    // reconciles each repository with GitHub's record of merges, and otherwise the playground
    // runs scheduled work (drift detection) when the story needs it.
    const launch = async (): Promise<CharterProcess> => {
      const started = await startCharterProcess(sim, { simUrl: api.url, signingKey: keys.signerKey, env: { ...environment, CHARTER_QUEUE_DB: queuePath }, scheduleIntervalMs: 3_600_000 });
      sim.webhookTarget = started.webhookUrl;
      return started;
    };
    let charter = await launch();
    teardown.add(() => charter.stop());
    const settled = (what: string): Promise<void> => settle(sim, queue, charter, what);
    say(`   process ${String(charter.child.pid)}, listening at ${charter.webhookUrl}`);
    say(`   each webhook is stored as a job in ${queuePath} before GitHub gets its answer`);
    say(`   provisioning: the local token registry in ${localDb}, and the two PostgreSQL servers`);

    step(3, "bob opens a pull request that floats the triage agent's model and widens its access");
    const original = agents[TRIAGE] ?? "";
    const broken = original
      .replace('version: "20250929"', "version: latest")
      .replace("postgres:select:crm.public.orders@crm-prod", "postgres:select:crm.public.*@crm-prod")
      .replace("maxLifetime: 1h", "maxLifetime: 30d");
    const opened = await sim.openPullRequest(repo, { author: "bob", branch: "triage-november", title: "Triage on the November model", body: BODY, files: { [TRIAGE]: broken } });
    await settled("the new pull request's check");
    say(`   pull request #${opened.pull.issue.number}, head ${opened.sha.slice(0, 7)}; webhook answered ${opened.delivery.status}`);
    show(charterRun(sim, repo, opened.sha));

    step(4, "bob pushes a fix: a pinned model version, one named table more, one-hour credentials");
    const fixed = original
      .replace('version: "20250929"', 'version: "20251101"')
      .replace("postgres:select:crm.public.orders@crm-prod", "postgres:select:crm.public.orders@crm-prod\n      - postgres:select:crm.public.invoices@crm-prod");
    let head = (await sim.pushToPullRequest(opened.pull, { [TRIAGE]: fixed }, { message: "Pin the model; name the table" })).sha;
    await settled("the pushed commit's check");
    let run = charterRun(sim, repo, head);
    show(run);
    say("   What changed, as Charter classifies it:");
    for (const row of (run?.output.summary ?? "").split("\n").filter((l) => l.startsWith("| `support-triage`"))) say(`     ${row}`);
    say("   Still needed:");
    showRules(run);

    step(5, "bob tries to approve his own pull request; the owner dana-support approves");
    try {
      await sim.submitReview(opened.pull, { user: "bob", state: "APPROVED" });
      say("   bob's approval was recorded, and Charter does not count it: he is the author.");
    } catch {
      say("   GitHub refuses an author's approval outright (Charter would not count it either).");
    }
    await sim.submitReview(opened.pull, { user: "dana-support", state: "APPROVED" });
    await settled("the reviews' checks");
    run = charterRun(sim, repo, head);
    show(run);
    showRules(run);

    step(6, "bob pushes one more commit: dana's approval was for the previous commit");
    const approved = fixed.replace("temperature: 0.2", "temperature: 0.1");
    head = (await sim.pushToPullRequest(opened.pull, { [TRIAGE]: approved }, { message: "Lower temperature" })).sha;
    await settled("the pushed commit's check");
    run = charterRun(sim, repo, head);
    show(run);
    const stale = /@dana-support's approval is for an older commit[^\n]*/.exec(run?.output.summary ?? "")?.[0];
    if (stale) say(`   ${stale}`);
    showRules(run);

    step(7, "dana-support approves the new commit, and sam approves for @acme/security");
    await sim.submitReview(opened.pull, { user: "dana-support", state: "APPROVED" });
    await sim.submitReview(opened.pull, { user: "sam", state: "APPROVED" });
    await settled("the reviews' checks");
    const green = charterRun(sim, repo, head);
    show(green);
    say("\n   The check run's rules, as reviewers see them on GitHub:\n");
    const rules = (green?.output.summary ?? "").split("### Rules")[1]?.split("\n<sub>")[0] ?? "";
    for (const line of rules.trim().split("\n")) say(`   │ ${line}`);

    step(8, "dana-support merges; Charter freezes the decision into the evidence ledger");
    await sim.mergePullRequest(opened.pull, { by: "dana-support" });
    await settled("the merge");
    const workspace = mkdtempSync(join(tmpdir(), "charter-playground-"));
    const clone = join(workspace, "agents");
    // The auditor's trust file stays in the run's directory, not in the home of whoever runs the playground.
    const trustFile = ["--trust-file", join(workspace, "known-logs")];
    execFileSync("git", ["clone", "-q", sim.repoPath(repo), clone]);
    const log = execFileSync("git", ["-C", clone, "log", "--format=%s", "origin/charter-evidence"], { encoding: "utf8" }).trim().split("\n");
    say(`   the charter-evidence branch: ${log.length} commit${log.length === 1 ? "" : "s"}, latest "${log[0] ?? ""}"`);
    say(`   an auditor's clone: ${clone}`);

    step(9, "An auditor verifies the ledger offline, with the published key");
    const verified = await runCli(["verify", "--key", keys.verifierKey, ...trustFile], clone);
    say(`   $ charter verify --key <published key>   → exit ${verified.code}`);
    say(`   ${verified.stdout.split("\n")[0] ?? ""}`);

    step(10, "Provisioning followed the approval");
    const role = identityRoleName(roleNames(), "support-triage");
    const records = ledger(sim, repo);
    const change = records.find((r) => r.kind === "change");
    const provisioned = records.find((r): r is ProvisioningRecord => r.kind === "provisioning");
    if (!change || !provisioned) throw new Error("no provisioning record after the approved merge");
    say(`   evidence record ${provisioned.seq}: provisioning after change record ${String(provisioned.body.after?.seq)}, outcome ${provisioned.body.outcome}, ${provisioned.body.applied.length} steps applied, e.g.:`);
    // The CONNECT and USAGE grants that come with every table are left out for brevity.
    const shown = provisioned.body.applied.filter((op) => op.action !== "grant" || op.target.includes(" on table "));
    for (const op of shown) say(`     ${operation(op)}`);
    const grants = await crm.sql<{ privilege_type: string; table_name: string }>(
      "crm",
      "SELECT privilege_type, table_name FROM information_schema.role_table_grants WHERE grantee = $1 ORDER BY table_name",
      [role],
    );
    say(`   on crm-prod, role ${role} holds: ${grants.map((g) => `${g.privilege_type} on ${g.table_name}`).join(", ")}`);
    // A lease is what an agent connects with: a login role valid for at most maxLifetime, which
    // inherits the identity's grants and nothing else.
    const crmProvider = createPostgresProvider({ instance: "crm-prod", connectionString: environment.CHARTER_POSTGRES_URL_CRM_PROD, databases: ["crm"] });
    try {
      const lease = await crmProvider.issueLease("support-triage", { ttlSeconds: 900, database: "crm" });
      say(`   a 15-minute lease: ${lease.username}, valid until ${lease.validUntil}`);
      const client = await login(lease.connectionString);
      try {
        const customers = await client.query<{ name: string; plan: string }>("SELECT name, plan FROM customers ORDER BY id");
        say(`     SELECT name, plan FROM customers → ${customers.rows.map((r) => `${r.name} (${r.plan})`).join(", ")}`);
        try {
          await client.query("SELECT * FROM payments");
          say("     SELECT * FROM payments → rows (it should have been refused)");
        } catch (error) {
          say(`     SELECT * FROM payments → refused: ${error instanceof Error ? error.message : String(error)}`);
        }
      } finally {
        await client.end();
      }
    } finally {
      await crmProvider.close();
    }
    const { privateKey } = generateKeyPairSync("ed25519");
    const tokenEnv = { CHARTER_LOCAL_DB: localDb, CHARTER_TOKEN_SIGNING_KEY: privateKey.export({ format: "pem", type: "pkcs8" }).toString() };
    const issued = await tokenIssue("support-triage", clone, tokenEnv);
    say(`   $ charter token issue support-triage   → exit ${issued.code}`);
    const token = issued.stdout.trim();
    say(`   ${token.slice(0, 24)}… (a signed JWT; its claims:)`);
    const claims = jwtClaims(token);
    const lifetime = Number(claims["exp"]) - Number(claims["iat"]);
    say(`     sub ${String(claims["sub"])}, manifest_sha256 ${String(claims["manifest_sha256"]).slice(0, 12)}…, permissions ${JSON.stringify(claims["permissions"])}, expires ${lifetime}s after issue (maxLifetime 1h)`);
    say("     (PostgreSQL enforces the database permissions itself; the token lists what tool gateways enforce)");

    step(11, "A DBA grants a table by hand; the next drift check reports it");
    await crm.sql("crm", `GRANT SELECT ON payments TO ${role}`);
    say(`   superuser on crm-prod: GRANT SELECT ON payments TO ${role}`);
    // Drift detection last ran when Charter started; the story does not wait out the policy's
    // driftInterval, it runs the next check now.
    await charter.tick(["drift"]);
    await settled("the drift check");
    const driftIssue = [...sim.core.state.issues.values()].find((i) => i.labels.includes("charter-drift"));
    say(`   issue #${String(driftIssue?.number)} "${driftIssue?.title ?? "(none)"}" [charter-drift]`);
    for (const line of (driftIssue?.body ?? "").split("\n").filter((l) => l.startsWith("- ") && l.includes("payments"))) say(`     ${line}`);
    const drift = ledger(sim, repo).find((r): r is DriftRecord => r.kind === "drift");
    say(`   evidence record ${String(drift?.seq)}: drift, ${String(drift?.body.findings.length)} finding(s), issue ${JSON.stringify(drift?.body.issues)}`);
    // A grant made by a superuser is not Charter's to revoke (the provisioner did not make it),
    // and it would keep the role from being dropped: the DBA takes it back, as the issue asks.
    await crm.sql("crm", `REVOKE SELECT ON payments FROM ${role}`);
    say(`   the DBA reads the issue and revokes it: REVOKE SELECT ON payments FROM ${role}`);

    step(12, "support-triage is retired: dana-support approves, merges, and Charter removes its access");
    const retired = `${approved
      .replace("status: active", "status: retired")
      .replace(/tools:\n[\s\S]*?credentials:/, "tools: []\ncredentials:")}retirement:\n  date: "2026-11-27"\n  reason: Triage moves to the helpdesk's built-in rules.\n`;
    const retirement = await sim.openPullRequest(repo, {
      author: "bob",
      branch: "retire-triage",
      title: "Retire support-triage",
      body: "The helpdesk's built-in rules now triage tickets.\n\n## Rollback plan\nRevert this pull request; Charter provisions the agent again.\n",
      files: { [TRIAGE]: retired },
    });
    await sim.submitReview(retirement.pull, { user: "dana-support", state: "APPROVED" });
    await settled("the retirement's check");
    show(charterRun(sim, repo, retirement.sha));
    await sim.mergePullRequest(retirement.pull, { by: "dana-support" });
    await settled("the retirement");
    const deprovisioned = ledger(sim, repo)
      .filter((r): r is ProvisioningRecord => r.kind === "provisioning")
      .at(-1);
    say(`   evidence record ${String(deprovisioned?.seq)}: provisioning after change record ${String(deprovisioned?.body.after?.seq)}, outcome ${deprovisioned?.body.outcome ?? "(none)"}; its steps:`);
    for (const op of deprovisioned?.body.applied ?? []) say(`     ${operation(op)}`);
    say(`   role ${role} on crm-prod: ${(await roleOn(crm, role)) ? "still there" : "gone"}; on helpdesk-prod: ${(await roleOn(helpdesk, role)) ? "still there" : "gone"}`);
    const refused = await tokenIssue("support-triage", clone, tokenEnv);
    say(`   $ charter token issue support-triage   → exit ${refused.code}`);
    say(`   ${refused.stderr.trim().split("\n")[0] ?? ""}`);

    step(13, "Charter's process is killed in the middle of an append while three merges land, and started again");
    // Three approved changes to code-review, each to its own file so that they merge in any order.
    const CODE_REVIEW = "agents/code-review";
    const changes: [string, string][] = [
      [`${CODE_REVIEW}/prompts/system.md`, `${agents[`${CODE_REVIEW}/prompts/system.md`] ?? ""}\nAsk for a test that fails without the fix.\n`],
      [`${CODE_REVIEW}/prompts/checklist.md`, `${agents[`${CODE_REVIEW}/prompts/checklist.md`] ?? ""}- Every fix comes with a test that fails without it.\n`],
      [`${CODE_REVIEW}/agent.yaml`, (agents[`${CODE_REVIEW}/agent.yaml`] ?? "").replace("maxRequestsPerMinute: 60", "maxRequestsPerMinute: 30")],
    ];
    const pulls: PullRequest[] = [];
    for (const [i, [path, text]] of changes.entries()) {
      const opened = await sim.openPullRequest(repo, {
        author: "bob",
        branch: `code-review-${String(i + 1)}`,
        title: `Code review: ${path.slice(CODE_REVIEW.length + 1)}`,
        body: "Ask for tests, and slow the assistant down.\n\n## Rollback plan\nRevert this pull request.\n",
        files: { [path]: text },
      });
      await sim.submitReview(opened.pull, { user: "pat", state: "APPROVED" });
      await settled("the pull request's check");
      pulls.push(opened.pull);
    }
    const [pullA, pullB, pullC] = pulls;
    if (!pullA || !pullB || !pullC) throw new Error("the three pull requests were not opened");
    const [a, b, c] = [pullA, pullB, pullC].map((p) => `#${String(p.issue.number)}`);
    say(`   pull requests ${a}, ${b} and ${c} change code-review; pat approves them for @acme/platform`);
    const changeCounts = (): string => {
      const changed = ledger(sim, repo).filter((r): r is ChangeRecord => r.kind === "change");
      return pulls.map((p) => `#${String(p.issue.number)} ${String(changed.filter((r) => r.body.pullRequest.number === p.issue.number).length)}`).join(", ");
    };
    // An append begins by reading the evidence branch's head. GitHub is slowed down from the
    // merges on, so that the kill lands after the job was taken and before its record is written.
    const headReads = sim.calls["git/get-ref"] ?? 0;
    sim.faults.inject({ kind: "latency", ms: 1_500 }, { count: 4, operation: "graphql" });
    await sim.mergePullRequest(pullA, { by: "pat" });
    await sim.mergePullRequest(pullB, { by: "pat" });
    await waitFor(() => (sim.calls["git/get-ref"] ?? 0) > headReads, "Charter to begin the append", SETTLE_TIMEOUT_MS);
    const killed = charter.child.pid;
    await charter.kill();
    sim.faults.clear();
    await sim.idle();
    say(`   ${a} and ${b} merge, their webhooks stored as jobs; Charter's process ${String(killed)} is killed (SIGKILL) while it appends ${a}'s record`);
    say(`     job queue: ${queueLine(await queue.stats())}; change records: ${changeCounts()}`);
    const unanswered = await sim.mergePullRequest(pullC, { by: "pat" });
    const undelivered = unanswered.deliveries.filter((d) => d.status === null);
    say(`   ${c} merges while no Charter listens: GitHub's ${String(undelivered.length)} deliveries failed (${undelivered[0]?.error ?? "?"}); GitHub does not send them again`);
    charter = await launch();
    // On start Charter takes back the interrupted job, runs the waiting ones, and reconciles the
    // repository with GitHub's list of merged pull requests, which is how it learns of pullC.
    const recordedC = (): boolean => ledger(sim, repo).some((r) => r.kind === "change" && r.body.pullRequest.number === pullC.issue.number);
    await waitFor(recordedC, `${c} to be found by the reconciliation on start`, SETTLE_TIMEOUT_MS);
    await settled("the interrupted and the reconciled jobs");
    say(`   Charter starts again (process ${String(charter.child.pid)}) on the same queue: it takes back the interrupted job, runs the waiting one,`);
    say(`   and its start-up reconciliation finds ${c} among GitHub's merged pull requests without a record, and records it:`);
    say(`     job queue: ${queueLine(await queue.stats())}; change records: ${changeCounts()}`);
    const numbers = pulls.map((p) => p.issue.number);
    const tallied = tally(ledger(sim, repo).filter((r): r is ChangeRecord => r.kind === "change" && numbers.includes(r.body.pullRequest.number)), numbers);
    say(`   change records for ${a}, ${b} and ${c}: expected ${String(tallied.expected)}, written ${String(tallied.written)}, duplicated ${String(tallied.duplicated)}, lost ${String(tallied.lost)}`);
    execFileSync("git", ["-C", clone, "fetch", "-q"]);
    const resumed = await runCli(["verify", "--key", keys.verifierKey, ...trustFile], clone);
    say(`   $ charter verify --key <published key>   → exit ${String(resumed.code)}`);
    say(`   ${resumed.stdout.split("\n")[0] ?? ""}`);

    step(14, "An admin pushes a prompt change straight to main, past review");
    const prompt = `${CODE_REVIEW}/prompts/system.md`;
    const pushed = await sim.push(repo, {
      branch: repo.defaultBranch,
      author: "alex-admin",
      message: "Hotfix the review prompt",
      files: { [prompt]: `${changes[0]?.[1] ?? ""}Approve one-line changes without asking for tests.\n` },
    });
    await settled("the push");
    say(`   alex-admin pushes ${pushed.sha.slice(0, 7)} to ${repo.defaultBranch}, changing ${prompt}, with no pull request and no approval`);
    const bypass = ledger(sim, repo).find((r): r is ExceptionRecord => r.kind === "exception");
    const bypassIssue = [...sim.core.state.issues.values()].find((i) => i.number === bypass?.body.issue);
    say(`   evidence record ${String(bypass?.seq)}: exception (${bypass?.body.kind ?? "none"}), issue #${String(bypassIssue?.number)} "${bypassIssue?.title ?? "(none)"}"`);
    say(`     ${bypass?.body.reason ?? ""}`);
    execFileSync("git", ["-C", clone, "fetch", "-q"]);

    step(15, "Someone quietly edits the record of the first merge; verification names it");
    execFileSync("git", ["-C", clone, "checkout", "-q", "-b", "tampered", "origin/charter-evidence"]);
    // The change record of the first merge: provisioning records carry no mergedBy.
    const recordFile = execFileSync("git", ["-C", clone, "grep", "-l", '"mergedBy":"dana-support"', "--", "records/"], { encoding: "utf8" }).trim().split("\n")[0] ?? "";
    const stored = readFileSync(join(clone, recordFile), "utf8");
    writeFileSync(join(clone, recordFile), stored.replace('"mergedBy":"dana-support"', '"mergedBy":"someone-else"'));
    execFileSync("git", ["-C", clone, "-c", "user.name=x", "-c", "user.email=x@x.invalid", "commit", "-q", "-am", "edit"]);
    const tampered = await runCli(["verify", "--branch", "tampered", "--key", keys.verifierKey, ...trustFile], clone);
    say(`   $ charter verify --branch tampered   → exit ${tampered.code}`);
    for (const line of tampered.stdout.trim().split("\n").slice(0, 3)) say(`   ${line}`);

    step(16, "The code-review agent acts outside its hours; an auditor asks the off-hours question and reconstructs the task");
    // Hours that exclude the present, so that what the agent does right after the merge is off-hours.
    const hour = new Date().getUTCHours();
    const window = hour < 12 ? { start: "13:00", end: "23:00" } : { start: "01:00", end: "11:00" };
    const hours = `  allowedHours:\n    timezone: UTC\n    days: [mon, tue, wed, thu, fri, sat, sun]\n    start: "${window.start}"\n    end: "${window.end}"\n`;
    const catalog = "apiVersion: charter/v1\nkind: ResourceCatalog\nresources:\n  - match: postgres:crm.public.customers@crm-prod\n    dataClasses: [customer-pii]\n";
    const hoursPull = await sim.openPullRequest(repo, {
      author: "bob",
      branch: "code-review-hours",
      title: "Code review: working hours, and classify the customers table",
      body: "Keep the reviewer to working hours; say which table holds customer data.\n\n## Rollback plan\nRevert this pull request.\n",
      files: {
        [`${CODE_REVIEW}/agent.yaml`]: (changes[2]?.[1] ?? "").replace("runtime:\n", `runtime:\n${hours}`),
        ".github/charter-resources.yml": catalog,
      },
    });
    await sim.submitReview(hoursPull.pull, { user: "pat", state: "APPROVED" });
    await sim.submitReview(hoursPull.pull, { user: "sam", state: "APPROVED" });
    await settled("the pull request's check");
    await sim.mergePullRequest(hoursPull.pull, { by: "pat" });
    await settled("the merge");
    say(`   #${String(hoursPull.pull.issue.number)} merged: code-review may act ${window.start}–${window.end} UTC; .github/charter-resources.yml classifies crm.public.customers as customer-pii`);
    const trailClone = join(workspace, "trail-auditor");
    execFileSync("git", ["clone", "-q", sim.repoPath(repo), trailClone]);
    const trailDb = join(secrets, "trail.sqlite");
    const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const now = Date.now();
    const at = (ms: number): string => new Date(now + ms).toISOString();
    // The agent's own telemetry (self-reported): the tool call, and the SQL gateway's record of
    // the statement it carried (attested), both under the tool span's trace id.
    const spans = join(secrets, "spans.ndjson");
    writeFileSync(spans, `${JSON.stringify({ eventId: "span-1", eventTime: at(1000), userIdentity: { type: "account", principalId: "code-review" }, eventSource: "tool", eventName: "execute_tool", tool: "lookup_customer", traceId: trace, spanId: "00f067aa0ba902b7" })}\n`);
    const gateway = join(secrets, "gateway.ndjson");
    writeFileSync(
      gateway,
      [
        { eventId: "sql-1", eventTime: at(1500), userIdentity: { type: "postgres-role", principalId: "charter_agent_code_review" }, eventSource: "postgres", eventName: "select", resources: [{ name: "crm.public.customers", instance: "crm-prod" }], traceId: trace, spanId: "00f067aa0ba902b8" },
        { eventId: "sql-2", eventTime: at(2000), userIdentity: { type: "postgres-role", principalId: "charter_agent_code_review" }, eventSource: "postgres", eventName: "select", resources: [{ name: "crm.public.orders", instance: "crm-prod" }], traceId: trace, spanId: "00f067aa0ba902b9" },
      ]
        .map((e) => JSON.stringify(e))
        .join("\n") + "\n",
    );
    const trail = (args: readonly string[]): Promise<CliResult> => runCli([...args, "--db", trailDb], trailClone);
    // The events are stamped just after the merge; let their times pass before the gateway
    // reports them, so that every later question (and the readiness report) sees them in the past.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, now + 2500 - Date.now())));
    const ingestedSpans = await trail(["trail", "ingest", "--source", "events", spans, "--instance", "agent-telemetry", "--agent", "code-review", "--repo", trailClone]);
    say(`   $ charter trail ingest --source events spans.ndjson --agent code-review   → exit ${ingestedSpans.code}`);
    const ingestedSql = await trail(["trail", "ingest", "--source", "events", gateway, "--instance", "crm-gateway", "--attested", "--repo", trailClone]);
    say(`   $ charter trail ingest --source events gateway.ndjson --instance crm-gateway --attested   → exit ${ingestedSql.code}`);
    const offHours = await trail(["audit", "actions", "--outside-hours", "--data-class", "customer-pii"]);
    say(`   $ charter audit actions --outside-hours --data-class customer-pii   → exit ${offHours.code}`);
    for (const line of offHours.stdout.trimEnd().split("\n")) say(`     ${line}`);
    const traced = await trail(["audit", "trace", trace, "--repo", trailClone]);
    say(`   $ charter audit trace ${trace}   → exit ${traced.code}`);
    for (const line of traced.stdout.trimEnd().split("\n")) say(`     ${line}`);
    for (const line of [ingestedSpans, ingestedSql, offHours, traced].flatMap((r) => (r.code === 0 ? [] : r.stderr.trim().split("\n")))) say(`   ${line}`);
    finished = { clone, verifierKey: keys.verifierKey, defaultBranch: repo.defaultBranch, trailDb };

    step(17, "What it cost");
    const calls = Object.entries(sim.calls)
      .map(([op, n]) => `${op} ×${n}`)
      .join(", ");
    say(`   GitHub API requests: ${calls}`);
    say(`   requests GitHub would have rejected: ${sim.rejected.length}`);

    await charter.stop();
    say(`\nDone. The simulated repository stays at ${sim.repoPath(repo)} and the auditor's clone at ${clone};`);
    say(`delete them when finished, with ${secrets} (the local token registry and the job queue). The PostgreSQL servers are stopped and removed on exit.`);
  } finally {
    await teardown.run();
  }
}

/** What the readiness report of the run needs from it: the auditor's clone and the key to verify with. */
let finished: { clone: string; verifierKey: string; defaultBranch: string; trailDb: string } | undefined;

/**
 * The run ends as an audit would begin: charter readiness on the auditor's clone and the run's
 * trail, judged on the evidence the run produced. The simulated repository runs no CI, so no pull
 * request recorded a test: the change-management item fails, naming each change and the fix.
 */
async function readinessOfTheRun(run: { clone: string; verifierKey: string; defaultBranch: string; trailDb: string }): Promise<void> {
  step(18, "The readiness report of this run: what an auditor would be told");
  execFileSync("git", ["-C", run.clone, "checkout", "-q", run.defaultBranch]);
  execFileSync("git", ["-C", run.clone, "pull", "-q", "--ff-only"]);
  const report = await runCli(["readiness", "--key", run.verifierKey, "--db", run.trailDb], run.clone);
  say(`   $ charter readiness --key <published key>   → exit ${report.code}`);
  const lines = report.stdout.trimEnd().split("\n");
  // Each item's verdict and summary, and for a failing one its first two failures with their fixes.
  let shownFailures = 0;
  for (const line of lines) {
    if (/^(PASS|FAIL|N\/A) /.test(line) || /^Readiness /.test(line)) {
      shownFailures = 0;
      say(`   ${line}`);
    } else if (/^ {6}[^ -]/.test(line) && !/^ {6}proof:/.test(line)) say(`   ${line}`);
    else if (/^ {6}- /.test(line) && shownFailures++ < 2) say(`   ${line}`);
    else if (/^ {8}fix: /.test(line) && shownFailures <= 2) say(`   ${line}`);
  }
  say(`   (the whole report: charter readiness --key … in ${run.clone}; --format md for a page to attach)`);
}

try {
  await main();
  if (finished !== undefined) await readinessOfTheRun(finished);
} catch (error) {
  // After Ctrl-C, what failed is the work the teardown cut short; the signal handler exits.
  if (interruption.signal === undefined) throw error;
}
