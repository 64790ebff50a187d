import { describe, expect, it } from "vitest";
import { appendRecord, EMPTY_LEDGER, type LedgerTip, recordPath } from "../../src/evidence/ledger.js";
import type { InventoryUpdate } from "../../src/evidence/site/inventory.js";
import type { NewRecord } from "../../src/evidence/record.js";
import { recordHash } from "../../src/evidence/record.js";
import { relativePath, mdText } from "../../src/evidence/site/markdown.js";
import { renderSite, sitePathsToRead, type AppendedRecord } from "../../src/evidence/site/render-site.js";
import { agentPagePath, pagePath } from "../../src/evidence/site/site-paths.js";
import { changeBody, genesisBody, observedAt } from "./ledger-fixture.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";

const KEYS = generateSignerKey("charter-site-test");
const CONTEXT = { repository: "acme/agents", repositoryUrl: "https://github.com/acme/agents", branch: "charter-evidence", publicKey: KEYS.verifierKey };
const ENTRY = {
  id: "support-triage",
  name: "Support Triage",
  status: "active",
  environment: "production",
  owners: ["team:acme/support-eng"],
  dataClassifications: ["customer-pii"],
  model: "anthropic/claude-sonnet-4-5@20250929",
  provider: "postgres",
  maxLifetime: "1h",
  permissions: ["postgres:select:crm.public.customers@crm-prod"],
  manifest: { path: "agents/support-triage/agent.yaml", sha256: "a".repeat(64) },
};

/** Appends records to a tip, returning what the site renderer is given. */
function append(tip: LedgerTip, entries: readonly NewRecord[]): { tip: LedgerTip; appended: AppendedRecord[] } {
  const appended: AppendedRecord[] = [];
  for (const entry of entries) {
    const r = appendRecord(tip, entry);
    tip = r.tip;
    appended.push({ record: r.record, path: r.path, sha256: recordHash(r.bytes) });
  }
  return { tip, appended };
}

/** Renders the site for successive appends, carrying the files forward as the branch would. */
function build(batches: readonly (readonly NewRecord[])[], inventories: readonly (readonly InventoryUpdate[])[] = [[], [{ id: "support-triage", entry: ENTRY }]]): Map<string, string> {
  let tip = EMPTY_LEDGER;
  const branch = new Map<string, string>();
  for (const [i, batch] of batches.entries()) {
    const next = append(tip, batch);
    const paths = sitePathsToRead(batch);
    const existing = new Map(paths.map((p) => [p, branch.get(p) ?? null]));
    const files = renderSite(CONTEXT, { existing, appended: next.appended, inventory: inventories[i] ?? [], controls: null, size: next.tip.size, root: "0".repeat(64) });
    for (const [p, text] of files) branch.set(p, text);
    tip = next.tip;
  }
  return branch;
}

function change(n: number, patch: (b: ReturnType<typeof changeBody>) => void = () => undefined): NewRecord {
  const body = changeBody(n);
  patch(body);
  return { kind: "change", body, observedAt: observedAt(n) };
}

const genesis: NewRecord = { kind: "genesis", body: genesisBody(KEYS.verifierKey), observedAt: observedAt(0) };

describe("the browsable evidence branch", () => {
  it("links every page to files that exist on the branch", () => {
    const branch = build([[genesis], [change(1)], [change(2)]]);
    // Records, checkpoint and copies are written by the ledger, not the site; they exist too.
    const ledgerFiles = new Set([0, 1, 2].map(recordPath));
    const broken: string[] = [];
    for (const [path, text] of branch) {
      if (!path.endsWith(".md")) continue;
      for (const match of text.matchAll(/\]\(([^)]+)\)/g)) {
        const target = match[1] ?? "";
        if (target.startsWith("https://")) continue;
        const resolved = new URL(target, `file:///${path}`).pathname.slice(1);
        if (!branch.has(decodeURIComponent(resolved)) && !ledgerFiles.has(resolved)) broken.push(`${path} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
    expect(branch.get("README.md")).toContain("| change | 2 |");
    expect(branch.get(agentPagePath("support-triage"))?.match(/^\| \[\d/gm)).toHaveLength(2);
    expect(branch.get("inventory/inventory.csv")).toContain("support-triage,Support Triage,active");
  });

  it("escapes what pull requests wrote, so a title cannot add links, images, HTML or table columns", () => {
    const title = "Evil [click](https://evil.example) <img src=x onerror=alert(1)> | extra | ![i](x.png)";
    const branch = build([[genesis], [change(1, (b) => (b.pullRequest.title = title))]]);
    const page = branch.get(pagePath(1)) ?? "";
    expect(page).not.toContain("<img");
    expect(page).not.toContain("[click](https://evil.example)");
    expect(page).toContain("\\[click\\]\\(https\\://evil.example\\)");
    const readmeRow = (branch.get("README.md") ?? "").split("\n").find((l) => l.includes("Evil")) ?? "";
    // Seven columns, the title's pipes escaped.
    expect(readmeRow.split(/(?<!\\)\|/).length - 2).toBe(7);
    expect(mdText("a\nb\r\nc")).toBe("a b c");
  });

  it("neutralises spreadsheet formulas in the population CSV", () => {
    const branch = build([[genesis], [change(1, (b) => (b.pullRequest.title = "=HYPERLINK(\"http://x\")"))]]);
    const csv = branch.get("population/2026/2026-01.csv") ?? "";
    expect(csv).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(csv.split("\r\n")[0]).toMatch(/^seq,kind,pullRequest,title/);
  });

  it("tracks emergency changes until a completed retro-approval closes them", () => {
    const emergency = change(1, (b) => (b.emergency = { active: true, reason: "Outage" }));
    let tip = EMPTY_LEDGER;
    const first = append(tip, [genesis, emergency]);
    tip = first.tip;
    const retro: NewRecord = {
      kind: "retro-approval",
      observedAt: observedAt(9),
      body: { repository: { id: "123456789", fullName: "acme/agents" }, emergency: { seq: 1, sha256: first.appended[1]?.sha256 ?? "" }, issue: 7, approvals: [], outcome: "completed" },
    };
    const site1 = renderSite(CONTEXT, { existing: new Map(), appended: first.appended, inventory: [], controls: null, size: 2, root: "0".repeat(64) });
    const state1 = JSON.parse(site1.get("site.json") ?? "{}") as { awaitingRetroReview: { seq: number }[] };
    expect(state1.awaitingRetroReview.map((e) => e.seq)).toEqual([1]);
    const second = append(tip, [retro]);
    const site2 = renderSite(CONTEXT, { existing: new Map([["site.json", site1.get("site.json") ?? null]]), appended: second.appended, inventory: [], controls: null, size: 3, root: "0".repeat(64) });
    const state2 = JSON.parse(site2.get("site.json") ?? "{}") as { awaitingRetroReview: unknown[]; counts: Record<string, number> };
    expect(state2.awaitingRetroReview).toEqual([]);
    expect(state2.counts).toEqual({ genesis: 1, change: 1, "retro-approval": 1 });
  });

  it("keeps every directory under GitHub's 1,000-entry listing limit", () => {
    const pages = new Set<string>();
    for (let seq = 0; seq < 5000; seq++) pages.add(pagePath(seq).split("/").slice(0, -1).join("/"));
    expect(pages.size).toBe(5);
    const agents = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const dir = agentPagePath(`agent-${i}`).split("/")[1] ?? "";
      agents.set(dir, (agents.get(dir) ?? 0) + 1);
    }
    expect(agents.size).toBe(256);
    expect(Math.max(...agents.values())).toBeLessThan(1000);
  });

  it("never lets an agent id choose its own path", () => {
    expect(agentPagePath("../../README")).toMatch(/^agents\/[0-9a-f]{2}\/id-[0-9a-f]{16}\.md$/);
    expect(agentPagePath("__proto__")).toMatch(/^agents\/[0-9a-f]{2}\/id-[0-9a-f]{16}\.md$/);
    expect(relativePath("pages/0/0/1.md", "agents/ab/x.md")).toBe("../../../agents/ab/x.md");
    expect(relativePath("README.md", "inventory/README.md")).toBe("inventory/README.md");
  });

  it("removes a deleted agent from the inventory and names the record that put each entry there", () => {
    const other = { ...ENTRY, id: "finance-reconciliation", name: "Finance" };
    const kept = build([[genesis], [change(1)], [change(2)]], [[], [{ id: "support-triage", entry: ENTRY }], [{ id: "finance-reconciliation", entry: other }]]);
    const inventory = JSON.parse(kept.get("inventory/inventory.json") ?? "{}") as { agents: Record<string, { record: number }> };
    expect(Object.keys(inventory.agents)).toEqual(["finance-reconciliation", "support-triage"]);
    expect(inventory.agents["support-triage"]?.record).toBe(1);
    expect(inventory.agents["finance-reconciliation"]?.record).toBe(2);
    const removed = build([[genesis], [change(1)], [change(2)]], [[], [{ id: "support-triage", entry: ENTRY }], [{ id: "support-triage", entry: null }]]);
    expect(JSON.parse(removed.get("inventory/inventory.json") ?? "{}")).toEqual({ agents: {} });
    expect(removed.get("inventory/README.md")).toContain("0 agent(s)");
  });
});
