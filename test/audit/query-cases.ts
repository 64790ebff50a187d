import { beforeAll, expect, it } from "vitest";
import { buildAccessReview } from "../../src/audit/access-review.js";
import type { AuditStore } from "../../src/audit/audit-store.js";
import { memoryLedgerSource } from "../../src/audit/ledger-source.js";
import type { Page, PageRequest } from "../../src/audit/page-cursor.js";
import {
  agentAt,
  type ChangeFilter,
  countAgents,
  countAgentsAt,
  countChanges,
  countExceptions,
  currentAgents,
  pageAgents,
  pageAgentsAt,
  pageChanges,
  pageExceptions,
  queryChanges,
  queryExceptions,
} from "../../src/audit/queries.js";
import { updateIndex } from "../../src/audit/update-index.js";
import { appendRecord } from "../../src/evidence/ledger.js";
import { REPOSITORY } from "../evidence/ledger-fixture.js";
import { type AuditLedger, auditLedger, FINANCE, SUPPORT } from "./audit-ledger.js";

const at = (iso: string): number => Date.parse(iso);

/**
 * The known answers of audit-ledger.ts's table, asked of one store. The SQLite and PostgreSQL
 * test files both run these, so the two stores are held to the same answers.
 */
export function queryCases(open: () => Promise<AuditStore>): void {
  let store: AuditStore;
  let ledger: AuditLedger;
  beforeAll(async () => {
    ledger = auditLedger();
    store = await open();
    await updateIndex(store, memoryLedgerSource(ledger.records, ledger.objects), { rebuild: true, batchSize: 4 });
    return () => store.close();
  });
  const seqs = async (filter: ChangeFilter): Promise<number[]> => (await queryChanges(store, filter)).map((c) => c.seq);

  it.each<[string, ChangeFilter, number[]]>([
    ["every change", {}, [1, 2, 3, 4, 6, 8, 13]],
    ["by agent", { agent: FINANCE }, [1, 3, 6, 13]],
    ["by change kind", { kind: "permission-added" }, [3]],
    ["by approver", { approver: "alice" }, [1, 3, 6, 13]],
    ["by a second approver of the same change", { approver: "carol" }, [3]],
    // Retiring finance (seq 13) and its change without a manifest copy (seq 6) still touch the customer data it held.
    ["by data class, held before or after", { dataClass: "customer-pii" }, [2, 3, 4, 6, 8, 13]],
    ["by decision", { decision: "pending" }, [4]],
    ["emergencies", { emergency: true }, [4, 6, 8]],
    ["agent and approver together", { agent: SUPPORT, approver: "dana" }, [8]],
    ["data class in a window", { dataClass: "financial", since: at("2025-03-01T00:00:00Z"), until: at("2025-05-01T00:00:00Z") }, [3, 6]],
    // Record 3 merged at 2025-03-01T12:00:00+01:00, which is 11:00 UTC: instants compare, not strings.
    ["since is inclusive, on UTC instants", { since: at("2025-03-01T11:00:00Z"), until: at("2025-03-10T00:00:00Z") }, [3]],
    ["until is exclusive", { since: at("2025-03-01T11:00:01Z"), until: at("2025-03-10T00:00:00.001Z") }, [4]],
    ["no match", { agent: "nobody" }, []],
  ])("changes %s", async (_name, filter, expected) => {
    expect(await seqs(filter)).toEqual(expected);
  });

  it("names the record each change rests on, who approved it and whether it was tested", async () => {
    const [third] = await queryChanges(store, { kind: "permission-added" });
    expect(third).toMatchObject({ seq: 3, hash: ledger.hashes[3], pullRequest: 13, approvers: "alice carol", tested: "failed", dataClasses: "customer-pii financial", emergency: false, retro: null });
    const emergencies = await queryChanges(store, { emergency: true });
    expect(emergencies.map((c) => [c.seq, c.retro?.seq ?? null, c.retro?.outcome ?? null])).toEqual([
      [4, null, null],
      [6, 7, "completed"],
      [8, 9, "overdue"],
    ]);
    expect(emergencies[1]?.retro?.hash).toBe(ledger.hashes[7]);
  });

  it.each<[string, string, number | null, Record<string, unknown>]>([
    ["before it existed", "2025-01-01T00:00:00Z", null, {}],
    ["at the very merge instant", "2025-01-10T10:00:00Z", 1, { permissions: ["postgres:select:ledger.public.invoices@erp"], dataClasses: ["financial"], status: "active" }],
    ["between create and change", "2025-02-15T00:00:00Z", 1, { owners: ["@acme/finance", "@fran"], permissions: ["postgres:select:ledger.public.invoices@erp"], provider: "postgres", manifest: "copy" }],
    [
      "after the permission was added",
      "2025-03-05T00:00:00Z",
      3,
      { permissions: ["postgres:select:ledger.public.invoices@erp", "postgres:update:ledger.public.invoices@erp"], dataClasses: ["customer-pii", "financial"] },
    ],
    ["after a change whose manifest copy is missing", "2025-04-15T00:00:00Z", 6, { manifest: "no-copy", status: "unknown", permissions: [] }],
    ["after retirement", "2025-07-01T00:00:00Z", 13, { status: "retired", permissions: [], owners: ["@acme/finance"], dataClasses: [] }],
  ])("time travel: finance %s", async (_name, time, seq, facts) => {
    const answer = await agentAt(store, FINANCE, at(time));
    if (seq === null) {
      expect(answer.version).toBeNull();
      expect(answer.next?.seq).toBe(1);
      return;
    }
    expect(answer.version).toMatchObject({ seq, hash: ledger.hashes[seq], ...facts });
  });

  it("time travel names exceptions that touched the agent after its version took effect", async () => {
    expect((await agentAt(store, FINANCE, at("2025-06-10T00:00:00Z"))).exceptions).toEqual([]);
    const after = await agentAt(store, FINANCE, at("2025-07-01T00:00:00Z"));
    expect(after.exceptions).toEqual([{ seq: 14, hash: ledger.hashes[14], kind: "direct-push", observedAt: "2025-06-15T00:00:00Z" }]);
    expect(after.next).toBeNull();
  });

  it("exceptions: bypasses, direct pushes, overdue retro-reviews and unresolved drift, in time order", async () => {
    const entries = await queryExceptions(store, { now: at("2025-08-01T00:00:00Z"), retroDays: 7 });
    expect(entries.map((e) => [e.type, e.seq, e.agents, e.related?.seq ?? null])).toEqual([
      ["retro-review-overdue", 4, SUPPORT, null],
      ["admin-bypass", 5, SUPPORT, null],
      ["retro-review-overdue", 8, SUPPORT, 9],
      ["drift-unresolved", 11, SUPPORT, null],
      ["direct-push", 14, FINANCE, null],
    ]);
    expect(entries.map((e) => e.hash)).toEqual([4, 5, 8, 11, 14].map((s) => ledger.hashes[s]));
    expect(entries[3]?.detail).toBe("support-triage: missing-grant (local)");
  });

  it("an emergency change is not overdue within its retro-review window, and the window is configurable", async () => {
    const within = await queryExceptions(store, { now: at("2025-03-16T23:59:59Z"), retroDays: 7, until: at("2025-03-11T00:00:00Z") });
    expect(within.map((e) => [e.type, e.seq])).toEqual([
      ["admin-bypass", 5],
      ["drift-unresolved", 11],
    ]);
    const longer = await queryExceptions(store, { now: at("2025-03-20T00:00:00Z"), retroDays: 30, until: at("2025-03-11T00:00:00Z") });
    expect(longer.some((e) => e.type === "retro-review-overdue")).toBe(false);
  });

  it("the exception window bounds bypasses and emergencies but not open drift", async () => {
    const entries = await queryExceptions(store, { since: at("2025-06-01T00:00:00Z"), now: at("2025-08-01T00:00:00Z"), retroDays: 7 });
    expect(entries.map((e) => [e.type, e.seq])).toEqual([
      ["drift-unresolved", 11],
      ["direct-push", 14],
    ]);
  });

  it("the access-review body lists every agent with its access, last change, last sync and drift", async () => {
    const context = { repository: { ...REPOSITORY }, commit: "b".repeat(40), asOf: "2025-07-01T00:00:00Z" };
    const body = await buildAccessReview(store, context);
    expect(body).toEqual({
      ...context,
      agents: [
        {
          agent: FINANCE,
          status: "retired",
          owners: ["@acme/finance"],
          permissions: [],
          dataClassifications: [],
          provider: "postgres",
          lastChange: { seq: 13, sha256: ledger.hashes[13] },
          lastProvisioning: { seq: 12, sha256: ledger.hashes[12] },
          drift: false,
        },
        {
          agent: SUPPORT,
          status: "active",
          owners: ["@dana", "@erin"],
          permissions: ["redis:read:support:tickets:*@cache-prod", "redis:write:support:tickets:*@cache-prod"],
          dataClassifications: ["customer-pii"],
          provider: "local",
          lastChange: { seq: 8, sha256: ledger.hashes[8] },
          lastProvisioning: null,
          drift: true,
        },
      ],
    });
    // The app appends it as a record: it must be a valid one.
    expect(() => appendRecord(ledger.last.tip, { kind: "access-review", body, observedAt: "2025-07-01T00:00:00Z" })).not.toThrow();
    const [finance] = await currentAgents(store);
    expect(finance).toMatchObject({ lastApprovalSeq: 13, lastApprovers: "alice", lastProvisioningOutcome: "converged" });
  });

  it("answers in keyset pages whose walk is the whole answer, with the population's count", async () => {
    const walk = async <T>(read: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> => {
      const rows: T[] = [];
      let after: string | null = null;
      do {
        const page: Page<T> = await read({ limit: 2, ...(after === null ? {} : { after }) });
        rows.push(...page.rows);
        after = page.next;
      } while (after !== null);
      return rows;
    };
    expect((await walk((p) => pageChanges(store, { dataClass: "customer-pii" }, p))).map((c) => c.seq)).toEqual([2, 3, 4, 6, 8, 13]);
    expect(await countChanges(store, { dataClass: "customer-pii" })).toBe(6);
    expect(await countChanges(store, { approver: "alice", agent: FINANCE })).toBe(4);
    const exceptions = { now: at("2025-08-01T00:00:00Z"), retroDays: 7 };
    expect((await walk((p) => pageExceptions(store, exceptions, p))).map((e) => e.seq)).toEqual([4, 5, 8, 11, 14]);
    expect(await countExceptions(store, exceptions)).toBe(5);
    expect((await walk((p) => pageAgents(store, p))).map((a) => a.agent)).toEqual([FINANCE, SUPPORT]);
    expect(await countAgents(store)).toBe(2);
  });

  it.each<[string, string, [string, number, string][]]>([
    ["before any agent existed", "2025-01-01T00:00:00Z", []],
    ["after both were created", "2025-02-15T00:00:00Z", [[FINANCE, 1, "active"], [SUPPORT, 2, "active"]]],
    ["after finance's permission was added, before support's emergency change", "2025-03-05T00:00:00Z", [[FINANCE, 3, "active"], [SUPPORT, 2, "active"]]],
    ["after a change without a manifest copy", "2025-04-15T00:00:00Z", [[FINANCE, 6, "unknown"], [SUPPORT, 4, "active"]]],
    ["after finance retired", "2025-07-01T00:00:00Z", [[FINANCE, 13, "retired"], [SUPPORT, 8, "active"]]],
  ])("the access review as of a past moment: %s", async (_name, time, expected) => {
    const page = await pageAgentsAt(store, at(time), {});
    expect(page.rows.map((v) => [v.agent, v.seq, v.status])).toEqual(expected);
    expect(page.rows.map((v) => v.hash)).toEqual(expected.map(([, seq]) => ledger.hashes[seq]));
    expect(await countAgentsAt(store, at(time))).toBe(expected.length);
    // Each row is what time travel answers for that one agent.
    for (const v of page.rows) expect((await agentAt(store, v.agent, at(time))).version).toEqual(v);
    const first = await pageAgentsAt(store, at(time), { limit: 1 });
    if (expected.length === 2) {
      const second = await pageAgentsAt(store, at(time), { limit: 1, after: first.next ?? "" });
      expect([...first.rows, ...second.rows].map((v) => v.agent)).toEqual([FINANCE, SUPPORT]);
      expect(second.next).toBeNull();
    }
  });
}
