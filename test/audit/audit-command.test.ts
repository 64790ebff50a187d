import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { TempRepo } from "../helpers/temp-repo.js";
import { runCli } from "../cli/run-cli.js";
import { auditLedger, auditRepo, buildAuditLedger, change, FINANCE, MANIFESTS, writeEvidence } from "./audit-ledger.js";

interface JsonReport {
  readonly report: string;
  readonly ledger: { readonly size: number; readonly tipHash: string; readonly branch: string };
  readonly rows: readonly Record<string, unknown>[];
}

describe("charter audit", () => {
  let repo: TempRepo;
  const ledger = auditLedger();
  let saved: string | undefined;
  beforeEach(() => {
    // The default index is SQLite in the clone unless DATABASE_URL names a server.
    saved = process.env["DATABASE_URL"];
    delete process.env["DATABASE_URL"];
    repo = auditRepo(ledger);
  });
  afterEach(() => {
    if (saved !== undefined) process.env["DATABASE_URL"] = saved;
    repo.remove();
  });
  const audit = (...args: string[]) => runCli(["audit", ...args], repo.root);
  const json = async (...args: string[]): Promise<JsonReport> => {
    const result = await audit(...args, "--format", "json");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as JsonReport;
  };

  it("answers changes by data class and time, naming each record and the ledger it read", async () => {
    const out = await json("changes", "--data-class", "customer-pii", "--since", "2025-03-01", "--until", "2025-05-01");
    expect(out.rows.map((r) => [r["seq"], r["sha256"], r["approvers"], r["tested"]])).toEqual([
      [3, ledger.hashes[3], "alice carol", "failed"],
      [4, ledger.hashes[4], "", "none"],
      [6, ledger.hashes[6], "alice", "none"],
    ]);
    expect(out.ledger).toMatchObject({ size: 16, tipHash: ledger.hashes[15], branch: "charter-evidence" });
    expect(existsSync(join(repo.root, ".git", ".charter", "audit.sqlite"))).toBe(true);
  });

  it("prints a table whose footer names the ledger size and tip hash", async () => {
    const result = await audit("changes", "--approver", "@carol");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`3 ${ledger.hashes[3]?.slice(0, 12)}`);
    expect(result.stdout).toContain(`1 row. ledger: 16 records indexed from charter-evidence`);
    expect(result.stdout).toContain(`tip record 15 sha256 ${ledger.hashes[15]}`);
  });

  it("travels in time: what the agent could do at a moment and which record put it there", async () => {
    const result = await audit("agent", FINANCE, "--at", "2025-03-05T00:00:00+02:00");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/record\s+3 /);
    expect(result.stdout).toMatch(/permissions\s+postgres:select:ledger.public.invoices@erp postgres:update:ledger.public.invoices@erp/);
    const before = await json("agent", FINANCE, "--at", "2024-12-31");
    expect(before).toMatchObject({ version: null, next: { seq: 1 } });
  });

  it("lists exceptions and the access review", async () => {
    const exceptions = await json("exceptions", "--as-of", "2025-08-01");
    expect(exceptions.rows.map((r) => [r["type"], r["seq"]])).toEqual([
      ["retro-review-overdue", 4],
      ["admin-bypass", 5],
      ["retro-review-overdue", 8],
      ["drift-unresolved", 11],
      ["direct-push", 14],
    ]);
    const review = await json("access-review");
    expect(review.rows.map((r) => [r["agent"], r["status"], r["drift"]])).toEqual([
      [FINANCE, "retired", "none"],
      ["support-triage", "active", `unresolved (11 ${ledger.hashes[11]?.slice(0, 12)})`],
    ]);
  });

  it("writes CSV with formula cells neutralised and the footer on stderr", async () => {
    const result = await audit("changes", "--emergency", "--format", "csv");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
    expect(result.stdout).not.toMatch(/(^|,)"?=/m);
    expect(result.stderr).toMatch(/^ledger: 16 records indexed/);
  });

  it("reads only new records as the branch grows, and refuses a rewritten branch until --rebuild", async () => {
    const dir = mkdtempSync(join(tmpdir(), "charter-audit-"));
    const index = join(dir, "index", "audit.sqlite");
    const small = buildAuditLedger([]);
    writeEvidence(repo, small);
    expect((await json("changes", "--index", index)).rows).toEqual([]);
    const created = change({ pr: 11, agent: FINANCE, mergedAt: "2025-01-10T10:00:00Z", kinds: ["agent-created"], manifest: MANIFESTS.financeV1 });
    const grown = buildAuditLedger([{ entry: { kind: "change", body: created.body, observedAt: "2025-01-10T10:01:00Z" }, copies: created.copies }], small);
    writeEvidence(repo, grown);
    const after = await json("changes", "--index", index);
    expect(after.rows.map((r) => r["seq"])).toEqual([1]);
    expect(after.ledger.size).toBe(2);

    writeEvidence(repo, ledger);
    const refused = await audit("changes", "--index", index);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not the record the index was built from/);
    expect(refused.stderr).toMatch(/charter verify.*charter audit --rebuild/);
    const rebuilt = await json("changes", "--index", index, "--rebuild");
    expect(rebuilt.rows).toHaveLength(7);
    rmSync(dir, { recursive: true, force: true });
  });

  it("pages: --limit shows the population's size and a cursor; following the cursors walks the whole answer", async () => {
    const whole = (await json("changes")).rows.map((r) => r["seq"]);
    expect(whole).toEqual([1, 2, 3, 4, 6, 8, 13]);
    const walked: unknown[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page = (await json("changes", "--limit", "3", ...(after === null ? [] : ["--after", after]))) as JsonReport & { total: number; next: string | null };
      expect(page.total).toBe(7);
      walked.push(...page.rows.map((r) => r["seq"]));
      after = page.next;
      pages++;
    } while (after !== null);
    expect(walked).toEqual(whole);
    expect(pages).toBe(3);

    const table = await audit("changes", "--limit", "2");
    const cursor = /2 of 7 rows; the next page: --after (\S+) \(or --all for every row\)\. ledger: 16 records/.exec(table.stdout)?.[1];
    expect(cursor).toBeDefined();
    const next = await audit("changes", "--limit", "2", "--after", cursor ?? "");
    expect(next.stdout).toContain(`3 ${ledger.hashes[3]?.slice(0, 12)}`);
    expect(next.stdout).not.toContain(`2 ${ledger.hashes[2]?.slice(0, 12)}`);

    const csv = await audit("access-review", "--limit", "1", "--format", "csv");
    expect(csv.stdout.trimEnd().split("\r\n")).toHaveLength(2);
    expect(csv.stderr).toMatch(/; 2 rows in all; the next page: --after \S+\n$/);
    const past = await json("access-review", "--at", "2025-03-05");
    expect(past.report).toBe("Access review (CC6.2) as of 2025-03-05T00:00:00.000Z: approved state");
    expect(past.rows.map((r) => [r["agent"], r["seq"], r["sha256"], r["permissions"]])).toEqual([
      [FINANCE, 3, ledger.hashes[3], "postgres:select:ledger.public.invoices@erp postgres:update:ledger.public.invoices@erp"],
      ["support-triage", 2, ledger.hashes[2], "redis:read:support:tickets:*@cache-prod"],
    ]);
    const exceptions = await json("exceptions", "--as-of", "2025-08-01", "--all");
    expect(exceptions.rows.map((r) => r["seq"])).toEqual([4, 5, 8, 11, 14]);
  });

  it("refuses filter values no record can hold, listing the ones that exist, instead of answering 0 of 0", async () => {
    for (const [args, message, listed] of [
      [["changes", "--kind", "not-a-kind"], '--kind "not-a-kind" is not one that exists', "permission-added"],
      [["changes", "--data-class", "bogus"], '--data-class "bogus" is not one that exists', "customer-pii"],
      [["changes", "--decision", "maybe"], '--decision "maybe" is not one that exists', "approved, pending, blocked, invalid"],
      [["changes", "--agent", "Not An Id"], '--agent "Not An Id" is not an agent id', "lowercase DNS labels"],
      [["changes", "--agent", "no-such-agent"], 'no record of the ledger names an agent "no-such-agent"', "access-review lists the agents"],
      [["agent", "no-such-agent", "--at", "2025-03-05"], 'no record of the ledger names an agent "no-such-agent"', "access-review lists the agents"],
      [["changes", "--approver", "bob smith"], '--approver "bob smith" is not a GitHub login', "login"],
      [["changes", "--retro-days", ""], "--retro-days  is not a number of days", "whole number"],
    ] as const) {
      const result = await audit(...args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stdout, args.join(" ")).toBe("");
      expect(result.stderr, args.join(" ")).toContain(message);
      expect(result.stderr, args.join(" ")).toContain(listed);
    }
    // Values that exist but match nothing still answer, with their count.
    expect((await json("changes", "--kind", "tool-removed")).rows).toEqual([]);
    expect((await json("changes", "--data-class", "health")).rows).toEqual([]);
  });

  it("reports usage errors with a hint", async () => {
    for (const args of [
      ["changes", "--since", "March 3rd"],
      ["agent", FINANCE],
      ["changes", "--decision", "maybe"],
      ["changes", "--format", "xml"],
      ["nonsense"],
      ["changes", "--limit", "0"],
      ["changes", "--limit", "ten"],
      ["changes", "--limit", "5", "--all"],
      ["changes", "--after", "not-a-cursor"],
      ["exceptions", "--after", "WzEsMl0"],
      ["agent", FINANCE, "--at", "2025-03-05", "--limit", "5"],
      ["changes", "--at", "2025-03-05"],
      ["access-review", "--at", "yesterday"],
    ]) {
      const result = await audit(...args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toMatch(/^charter: .+\n.+/);
    }
  });
});
