import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { createIngestToken } from "../../src/sources/ingest-tokens.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import type { SourceState } from "../../src/sources/trail-status.js";
import { runCli } from "../cli/run-cli.js";
import { GitHubSimulator } from "../github-sim/index.js";
import { ownAgents } from "../helpers/agents-fixture.js";
import { ledger } from "../helpers/evidence-branch.js";
import { startCharterProcess } from "../helpers/start-charter-process.js";
import { waitFor } from "../jobs/wait-for.js";

/**
 * Completeness of the trail from the running app: the sources an operator configured but that
 * never send (a followed log that stays empty, a gateway given a token and never wired), and a
 * log that lost lines, show in `charter trail status` and become exception records on the
 * evidence branch. Stopping the flow of audit lines is how an operator would hide actions from
 * the trail; it must not go unnoticed because nothing was ever there to miss.
 */
const KEYS = generateSignerKey("charter-test-trail-completeness");
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// Server lines that are no action: they move the follower's position and add no event.
const CHECKPOINT = (i: number): string => JSON.stringify({ timestamp: "2026-03-02 10:00:00.000 UTC", user: null, error_severity: "LOG", message: `checkpoint starting: time ${String(i)}`, backend_type: "checkpointer" });

describe("trail completeness from the running app", () => {
  it("shows configured sources that never sent as silent since configured, and records silent and gapped attested sources as exceptions", async () => {
    const dir = mkdtempSync(join(tmpdir(), "charter-trail-complete-"));
    cleanups.push(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const db = join(dir, "trail.sqlite");
    const quiet = join(dir, "crm-log");
    const lossy = join(dir, "billing-log");
    mkdirSync(quiet);
    mkdirSync(lossy);
    // A line the server did not write (overwritten in place, or injected): what was there is lost.
    writeFileSync(join(lossy, "postgresql-1.json"), [CHECKPOINT(1), "2026-03-02 10:00:01 UTC LOG: not json", CHECKPOINT(2), ""].join("\n"));
    const store = openSqliteTrail(db);
    await createIngestToken(store, { kind: "source", instance: "payments-gateway" });
    await createIngestToken(store, { kind: "agent", agent: "support-triage" });
    await store.close();

    const sim = await GitHubSimulator.create();
    cleanups.push(() => sim.close());
    sim.addOrganization("acme");
    const repo = await sim.createRepository({ owner: "acme", name: "agents", files: ownAgents() });
    const http = await sim.listen();
    cleanups.push(() => http.close());
    const app = await startCharterProcess(sim, {
      simUrl: http.url,
      signingKey: KEYS.signerKey,
      env: {
        CHARTER_QUEUE_DB: join(dir, "queue.sqlite"),
        CHARTER_TRAIL_DB: db,
        CHARTER_TRAIL_REPOSITORY: "acme/agents",
        CHARTER_TRAIL_PGAUDIT_CRM_PROD: quiet,
        CHARTER_TRAIL_PGAUDIT_BILLING: lossy,
        CHARTER_TRAIL_SILENT_AFTER: "2s",
        CHARTER_TRAIL_ANCHOR_INTERVAL: "1s",
      },
    });
    cleanups.push(() => app.kill());

    const exceptions = () => ledger(sim, repo).flatMap((r) => (r.kind === "trail-exception" ? [`${r.body.source}/${r.body.instance} ${r.body.kind}`] : []));
    const expected = ["events/payments-gateway silent", "pgaudit/billing gap", "pgaudit/crm-prod silent"];
    await waitFor(() => expected.every((e) => exceptions().includes(e)), "the silent and gapped sources on the evidence branch", 60_000);
    const recorded = ledger(sim, repo).flatMap((r) => (r.kind === "trail-exception" ? [r.body] : []));
    expect(recorded.find((e) => e.instance === "crm-prod")?.detail).toMatch(/^nothing received since \d{4}-\d\d-\d\dT[\d:.]+Z \(configured then, never sent anything\) \(allowed: 2 s\)$/);
    expect(recorded.find((e) => e.instance === "billing" && e.kind === "gap")?.detail).toContain("unreadable log line");
    // Self-reported telemetry missing is no exception: the agent's own word is not the record.
    expect(recorded.some((e) => e.source === "otlp")).toBe(false);

    const status = await runCli(["trail", "status", "--db", db, "--format", "json"], dir);
    expect(status.code).toBe(1);
    const rows = (JSON.parse(status.stdout) as { sources: SourceState[] }).sources;
    const row = (source: string, instance: string) => rows.find((r) => r.source === source && r.instance === instance);
    expect(row("pgaudit", "crm-prod")).toMatchObject({ attested: true, events: 0, lastReceivedAt: null, state: "silent", silentAfterSeconds: 2 });
    expect(row("pgaudit", "crm-prod")?.quietSince).toBe(row("pgaudit", "crm-prod")?.configuredAt);
    expect(row("pgaudit", "billing")).toMatchObject({ attested: true, state: "gapped", gaps: 1 });
    expect(row("events", "payments-gateway")).toMatchObject({ attested: true, events: 0, lastReceivedAt: null, state: "silent", silentAfterSeconds: 2 });
    expect(row("otlp", "support-triage")).toMatchObject({ attested: false, state: "silent" });
    // Within its limit, a source that has not sent yet is waiting, which is no finding.
    const patient = await runCli(["trail", "status", "--db", db, "--silent-after", "1d", "--format", "json"], dir);
    const waiting = (JSON.parse(patient.stdout) as { sources: SourceState[] }).sources;
    expect(waiting.filter((r) => r.instance !== "billing").map((r) => [r.instance, r.state])).toEqual([
      ["payments-gateway", "waiting"],
      ["support-triage", "waiting"],
      ["crm-prod", "waiting"],
    ]);

    const table = await runCli(["trail", "status", "--db", db, "--silent-after", "1s"], dir);
    expect(table.stdout).toMatch(/^pgaudit\/crm-prod {2}attested {2}0 events {2}last never {2}silent since \S+ \(configured, nothing received\), limit 1 s$/m);
    expect(table.stdout).toMatch(/^events\/payments-gateway {2}attested {2}0 events {2}last never {2}silent since \S+ \(configured, nothing received\), limit 1 s$/m);
    await app.stop();
  }, 120_000);
});
