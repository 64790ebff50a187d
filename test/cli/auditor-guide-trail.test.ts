// The auditor guide's action-trail commands, run as written with the full CLI: the operator's side
// builds a real trail (Charter's event format ingested through `charter trail ingest`, sealed with
// `charter trail seal`, anchored on the evidence branch as the app anchors it) over a ledger whose
// change record approved support-triage with allowed hours; the auditor clones the remote, copies
// the store in as `trail.sqlite` and runs every ```sh block of "The action trail (CC7.3)". The
// expected counts come from how the events were generated here, not from the commands.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditRepo, buildAuditLedger, change } from "../audit/audit-ledger.js";
import { type Completed, runGroup } from "../helpers/child-processes.js";
import { saveEnv } from "../helpers/saved-env.js";
import { anchorTrail } from "../helpers/trail-anchor.js";
import { auditorMachine, linkFullCli } from "../helpers/auditor-machine.js";
import type { TempRepo } from "../helpers/temp-repo.js";
import { runCli } from "./run-cli.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const GUIDE = readFileSync(join(ROOT, "docs/auditor-guide.md"), "utf8");
const GUIDE_URL = "https://github.com/ACME/agents";
const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

/** support-triage as the repository ships it, approved with business hours in Berlin. */
const MANIFEST = readFileSync(join(ROOT, "agents/support-triage/agent.yaml"), "utf8").replace(
  "runtime:\n",
  'runtime:\n  allowedHours:\n    timezone: Europe/Berlin\n    days: [mon, tue, wed, thu, fri]\n    start: "08:00"\n    end: "18:00"\n',
);
const CATALOG = `apiVersion: charter/v1
kind: ResourceCatalog
resources:
  - match: postgres:crm.public.customers@crm-prod
    dataClasses: [customer-pii]
  - match: postgres:crm.public.orders@crm-prod
    dataClasses: [internal]
`;

/**
 * The weekdays of June 2025, each with 100 reads of customers at 10:00 UTC (12:00 in Berlin,
 * within hours) and 100 at 01:00 UTC (03:00 in Berlin, outside), plus 100 reads of orders at
 * 01:00 UTC (outside hours, but not customer data). The three events of one task share TRACE.
 */
function events(): { lines: string[]; offHoursCustomer: number } {
  const lines: string[] = [];
  let offHoursCustomer = 0;
  let n = 0;
  const line = (time: number, table: string, over: Record<string, unknown> = {}): string =>
    JSON.stringify({
      eventId: `evt-${++n}`,
      eventTime: new Date(time).toISOString(),
      userIdentity: { type: "postgres-role", principalId: "charter_agent_support_triage" },
      eventSource: "postgres",
      eventName: "select",
      resources: [{ name: `crm.public.${table}`, instance: "crm-prod" }],
      ...over,
    });
  for (let day = 1; day <= 30; day++) {
    const midnight = Date.UTC(2025, 5, day);
    const weekday = new Date(midnight).getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    for (let i = 0; i < 100; i++) {
      lines.push(line(midnight + 10 * 3_600_000 + i * 1000, "customers"));
      lines.push(line(midnight + 3_600_000 + i * 1000, "customers"));
      offHoursCustomer++;
      lines.push(line(midnight + 3_600_000 + 500 + i * 1000, "orders"));
    }
  }
  const task = Date.UTC(2025, 5, 30, 23, 30);
  for (let i = 0; i < 3; i++) lines.push(line(task + i * 1000, i === 2 ? "orders" : "customers", { traceId: TRACE, spanId: `00f067aa0ba902b${i}` }));
  offHoursCustomer += 2;
  return { lines, offHoursCustomer };
}

let work = "";
let source: TempRepo | undefined;
let env: NodeJS.ProcessEnv;
let clone: string;
let verifierKey: string;
let expected: { lines: string[]; offHoursCustomer: number };

async function sh(script: string, cwd: string): Promise<Completed> {
  return runGroup("/bin/sh", ["-e", "-c", script], { cwd, env, timeoutMs: 120_000, allowFailure: true });
}

/** The ```sh blocks under a heading of the guide, to the next heading of the same or a higher level. */
function blocksUnder(heading: string): string[] {
  const start = GUIDE.indexOf(`\n${heading}\n`);
  expect(start, `${heading} is in the guide`).toBeGreaterThanOrEqual(0);
  const level = /^#+/.exec(heading)?.[0].length ?? 2;
  const rest = GUIDE.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`\\n#{1,${level}} `));
  return [...(end < 0 ? rest : rest.slice(0, end)).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "charter-guide-trail-"));
  // The operator's side: the agents repository with its catalog, the approving change record, the trail.
  const approved = change({ pr: 7, agent: "support-triage", mergedAt: "2025-05-01T09:00:00Z", kinds: ["agent-created"], manifest: MANIFEST, approvers: ["dana-support"] });
  const ledger = buildAuditLedger([{ entry: { kind: "change", body: approved.body, observedAt: "2025-05-01T09:01:00Z" }, copies: approved.copies }]);
  verifierKey = ledger.verifierKey;
  source = auditRepo(ledger);
  source.write({ ".github/charter-resources.yml": CATALOG });
  source.commitAll("resource catalog");
  const restore = saveEnv(["CHARTER_SIGNING_KEY"]);
  process.env["CHARTER_SIGNING_KEY"] = ledger.signerKey;
  const db = join(work, "operator-trail.sqlite");
  expected = events();
  const file = join(work, "events.ndjson");
  writeFileSync(file, expected.lines.join("\n") + "\n");
  const ingested = await runCli(["trail", "ingest", "--source", "events", "--instance", "gateway", "--attested", "--db", db, file], source.root);
  expect(ingested.code, ingested.stderr).toBe(0);
  const sealed = await runCli(["trail", "seal", "--db", db], source.root);
  expect(sealed.code, sealed.stderr).toBe(0);
  restore();
  await anchorTrail(source, db, ledger.last.tip, ledger.signerKey);
  const remote = join(work, "srv/agents.git");
  source.git("init", "-q", "--bare", "-b", "main", remote);
  source.git("push", "-q", remote, "main", "charter-evidence");

  // The auditor's side: the full CLI on PATH (`npm link`), a clone, a copy of the store, the key.
  const base = join(work, "auditor");
  env = auditorMachine(base);

  await linkFullCli(ROOT, env);
  const cloneLine = ((blocksUnder("## Verifying the ledger")[0] ?? "").split("\n").find((l) => l.startsWith("git clone")) ?? "").replaceAll(GUIDE_URL, pathToFileURL(join(work, "srv/agents")).href);
  mkdirSync(join(base, "audit"), { recursive: true });
  const cloned = await sh(cloneLine, join(base, "audit"));
  expect(cloned.code, cloned.stderr).toBe(0);
  clone = join(base, "audit/agents");
  copyFileSync(db, join(clone, "trail.sqlite"));
  writeFileSync(join(clone, "verifier.pub"), `${verifierKey}\n`);
}, 300_000);

afterAll(() => {
  source?.remove();
  if (work !== "") rmSync(work, { recursive: true, force: true, maxRetries: 5 });
});

async function run(block: string): Promise<Completed> {
  const result = await sh(block, clone);
  expect(result.code, `${block}\n${result.stdout}${result.stderr}`).toBe(0);
  expect(result.stderr).not.toMatch(/error|usage/i);
  return result;
}

describe("the auditor guide's action-trail commands, run as written", () => {
  it("the off-hours question: the population per agent, then every event", async () => {
    const [block] = blocksUnder("### The off-hours question");
    const result = await run(block ?? "");
    expect(result.stdout).toContain("support-triage");
    expect(result.stdout).toContain(String(expected.offHoursCustomer));
    const csv = readFileSync(join(clone, "off-hours.csv"), "utf8").trim().split("\n");
    expect(csv).toHaveLength(1 + expected.offHoursCustomer);
    expect(csv.slice(1).every((row) => row.includes("crm.public.customers"))).toBe(true);
  });

  it("reconstructing a task: the trace's events in order", async () => {
    const [block] = blocksUnder("### Reconstructing a task");
    const result = await run((block ?? "").trim());
    expect(result.stdout).toContain(`Trace ${TRACE}: 3 events`);
    const steps = [...result.stdout.matchAll(/^(\S+Z) .* select (crm\.public\.\w+) /gm)].map((m) => `${m[1] ?? ""} ${m[2] ?? ""}`);
    expect(steps).toEqual(["2025-06-30T23:30:00.000Z crm.public.customers", "2025-06-30T23:30:01.000Z crm.public.customers", "2025-06-30T23:30:02.000Z crm.public.orders"]);
    expect(result.stdout).toContain("dana-support");
  });

  it("verifying the trail against the anchors on the evidence branch, and one event's proof", async () => {
    const [block] = blocksUnder("### Verifying the trail");
    const result = await run(block ?? "");
    expect(result.stdout).toMatch(new RegExp(`OK .*${expected.lines.length} events`));
    expect(result.stdout).toContain("4321");
  });
});
