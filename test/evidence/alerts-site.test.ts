import { describe, expect, it } from "vitest";
import { appendRecord, EMPTY_LEDGER, type LedgerTip } from "../../src/evidence/ledger.js";
import { type NewRecord, recordHash } from "../../src/evidence/record.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { renderSite, sitePathsToRead, type AppendedRecord } from "../../src/evidence/site/render-site.js";
import type { TrailAlertSummary } from "../../src/schema-types/evidence-record.generated.js";
import { genesisBody } from "./ledger-fixture.js";

/**
 * The evidence branch's alerts page, built from the alert summaries of anchor records alone,
 * across appends (the site keeps its state in site.json between them). Every figure expected
 * below is worked out by hand from the summaries staged here.
 */
const KEYS = generateSignerKey("charter-alerts-site-test");
const CONTEXT = { repository: "acme/agents", repositoryUrl: "https://github.com/acme/agents", branch: "charter-evidence", publicKey: KEYS.verifierKey };
const ORIGIN = "charter-trail/acme-agents";
const A = "a".repeat(64);
const B = "b".repeat(64);
const C = "c".repeat(64);

function build(batches: readonly (readonly NewRecord[])[]): Map<string, string> {
  let tip: LedgerTip = EMPTY_LEDGER;
  const branch = new Map<string, string>();
  for (const batch of batches) {
    const appended: AppendedRecord[] = [];
    for (const entry of batch) {
      const r = appendRecord(tip, entry);
      tip = r.tip;
      appended.push({ record: r.record, path: r.path, sha256: recordHash(r.bytes) });
      branch.set(r.path, "record");
    }
    const existing = new Map(sitePathsToRead(batch).map((p) => [p, branch.get(p) ?? null]));
    for (const [p, text] of renderSite(CONTEXT, { existing, appended, inventory: [], controls: null, size: tip.size, root: "0".repeat(64) })) branch.set(p, text);
  }
  return branch;
}

function anchor(at: string, toSeq: number, alerts: TrailAlertSummary | undefined): NewRecord {
  return {
    kind: "trail-anchor",
    observedAt: at,
    body: {
      origin: ORIGIN,
      segments: [{ index: toSeq / 10 - 1, fromSeq: toSeq - 9, toSeq, root: "a".repeat(64) }],
      checkpoint: `${ORIGIN}\n${toSeq}\nq83vEjhz\n\n— charter-trail sig\n`,
      coverage: [],
      ...(alerts === undefined ? {} : { alerts }),
    },
  };
}

const MARCH: TrailAlertSummary = {
  raised: [
    { rule: "charter/out-of-scope", severity: "high", agent: "support-triage", status: "acknowledged", alerts: 1 },
    { rule: "charter/out-of-scope", severity: "high", agent: "support-triage", status: "open", alerts: 2 },
  ],
  evaluations: [{ rule: "charter/out-of-scope", severity: "high", agent: "support-triage", to: "acknowledged", evaluations: 1 }],
  evaluated: [{ alert: A, rule: "charter/out-of-scope", severity: "high", to: "acknowledged", at: "2026-03-04T10:30:00.000Z", first: true, afterSeconds: 1800 }],
  evaluatedOmitted: 0,
  open: [
    { alert: A, rule: "charter/out-of-scope", severity: "high", agent: "support-triage", status: "acknowledged", raisedAt: "2026-03-04T10:00:00.000Z" },
    { alert: B, rule: "charter/out-of-scope", severity: "high", agent: "support-triage", status: "open", raisedAt: "2026-03-04T10:05:00.000Z" },
    { alert: C, rule: "charter/out-of-scope", severity: "high", agent: "support-triage", status: "open", raisedAt: "2026-03-04T11:00:00.000Z" },
  ],
  openTotal: 3,
};
const MARCH_LATER: TrailAlertSummary = {
  raised: [{ rule: "charter/off-hours", severity: "medium", agent: null, status: "open", alerts: 1 }],
  evaluations: [
    { rule: "charter/out-of-scope", severity: "high", agent: "support-triage", to: "resolved", evaluations: 1 },
    { rule: "charter/out-of-scope", severity: "high", agent: "support-triage", to: "suppressed", evaluations: 2 },
  ],
  evaluated: [
    { alert: A, rule: "charter/out-of-scope", severity: "high", to: "resolved", at: "2026-03-04T12:00:00.000Z", first: false, afterSeconds: 7200 },
    { alert: B, rule: "charter/out-of-scope", severity: "high", to: "suppressed", at: "2026-03-04T10:05:45.000Z", first: true, afterSeconds: 45 },
    { alert: C, rule: "charter/out-of-scope", severity: "high", to: "suppressed", at: "2026-03-06T11:00:00.000Z", first: true, afterSeconds: 172_800 },
  ],
  evaluatedOmitted: 0,
  open: [{ alert: "d".repeat(64), rule: "charter/off-hours", severity: "medium", agent: null, status: "open", raisedAt: "2026-03-06T09:00:00.000Z" }],
  openTotal: 1,
};

describe("the alerts page on the evidence branch", () => {
  const branch = build([
    [{ kind: "genesis", body: genesisBody(KEYS.verifierKey), observedAt: "2026-03-01T00:00:00.000Z" }],
    // An anchor from before summaries existed: on the trail page, not on this one.
    [anchor("2026-03-03T00:00:00.000Z", 10, undefined)],
    [anchor("2026-03-04T13:00:00.000Z", 20, MARCH)],
    [anchor("2026-03-07T09:00:00.000Z", 30, MARCH_LATER)],
  ]);
  const page = branch.get("alerts/README.md") ?? "";

  it("lists the open alerts of the latest anchor with their age, each linking to that anchor record", () => {
    expect(page).toContain("As of anchor record [3](../pages/0/0/3.md) of `charter-trail/acme-agents` (2026-03-07T09\\:00\\:00.000Z): 1 alert(s) not resolved or suppressed.");
    expect(page).toContain(`| \`${"d".repeat(16)}\` | charter/off-hours | medium | _unattributed_ | open | 2026-03-06T09\\:00\\:00.000Z | 24 h 0 min | [3](../pages/0/0/3.md) |`);
    expect(page).not.toContain(`\`${"b".repeat(16)}\` | charter/out-of-scope | high | support-triage | open`);
  });

  it("counts the month's alerts by rule and severity across its anchors, naming the anchor records", () => {
    expect(page).toContain("| 2026-03 | charter/off-hours | medium | 1 | [3](../pages/0/0/3.md)–[3](../pages/0/0/3.md) |");
    expect(page).toContain("| 2026-03 | charter/out-of-scope | high | 3 | [2](../pages/0/0/2.md)–[2](../pages/0/0/2.md) |");
  });

  it("counts evaluations and measures time to first evaluation: median of 45 s, 30 min and 2 d is 30 min, worst 2 d", () => {
    expect(page).toContain("| 2026-03 | 1 | 1 | 2 | 3 | 30 min | 2 d 0 h | [2](../pages/0/0/2.md)–[3](../pages/0/0/3.md) |");
  });

  it("lists recent evaluations to sample from, newest anchor first, each with its anchor record", () => {
    const recent = page.slice(page.indexOf("### 2026-03"));
    const rows = recent.split("\n").filter((l) => l.startsWith("| `"));
    expect(rows).toEqual([
      `| \`${"c".repeat(16)}\` | charter/out-of-scope | high | suppressed (first) | 2026-03-06T11\\:00\\:00.000Z | 2 d 0 h | [3](../pages/0/0/3.md) |`,
      `| \`${"b".repeat(16)}\` | charter/out-of-scope | high | suppressed (first) | 2026-03-04T10\\:05\\:45.000Z | 45 s | [3](../pages/0/0/3.md) |`,
      `| \`${"a".repeat(16)}\` | charter/out-of-scope | high | resolved | 2026-03-04T12\\:00\\:00.000Z | 2 h 0 min | [3](../pages/0/0/3.md) |`,
      `| \`${"a".repeat(16)}\` | charter/out-of-scope | high | acknowledged (first) | 2026-03-04T10\\:30\\:00.000Z | 30 min | [2](../pages/0/0/2.md) |`,
    ]);
  });

  it("is linked from the README and the trail page, and carries ids, never reasons or payloads", () => {
    expect(branch.get("README.md")).toContain("[raised and evaluated per month, time to evaluation, the alerts still open](alerts/README.md)");
    expect(branch.get("trail/README.md")).toContain("[the alerts page](../alerts/README.md)");
    expect(page).toContain("[the trail page](../trail/README.md)");
  });
});
