import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { appendRecord, EMPTY_LEDGER, type LedgerTip } from "../../src/evidence/ledger.js";
import { type NewRecord, recordHash } from "../../src/evidence/record.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { relativePath } from "../../src/evidence/site/markdown.js";
import { renderSite, sitePathsToRead, type AppendedRecord } from "../../src/evidence/site/render-site.js";
import type { TrailAnchorBody } from "../../src/schema-types/evidence-record.generated.js";
import { openSqliteTrail } from "../../src/sources/sqlite-trail-store.js";
import { TrailIngestor } from "../../src/sources/trail-ingestor.js";
import { anchorBody, sealPending } from "../../src/sources/trail-sealer.js";
import { context, sourceEvent } from "../trail/trail-fixture.js";
import { genesisBody, observedAt } from "./ledger-fixture.js";

/**
 * The evidence branch's trail page: built from anchor records only, and the counts per agent and
 * data class that the anchor records now carry, computed by the store over the anchored events.
 */
const KEYS = generateSignerKey("charter-trail-site-test");
const CONTEXT = { repository: "acme/agents", repositoryUrl: "https://github.com/acme/agents", branch: "charter-evidence", publicKey: KEYS.verifierKey };

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

const ORIGIN = "charter-trail/acme-agents";
function anchor(n: number, body: Partial<TrailAnchorBody>): NewRecord {
  return {
    kind: "trail-anchor",
    observedAt: observedAt(n),
    body: {
      origin: ORIGIN,
      segments: [{ index: 0, fromSeq: 1, toSeq: 4, root: "a".repeat(64) }],
      checkpoint: `${ORIGIN}\n4\nq83vEjhz\n\n— charter-trail sig\n`,
      coverage: [{ source: "pgaudit", instance: "crm-prod", attested: true, events: 4, lastEventAt: "2026-03-03T14:00:00.000Z" }],
      ...body,
    },
  };
}

describe("the action trail on the evidence branch", () => {
  it("anchor records count the anchored events per agent and data class, unattributed ones included", async () => {
    const dir = mkdtempSync(join(tmpdir(), "charter-trail-counts-"));
    const store = openSqliteTrail(join(dir, "trail.sqlite"));
    try {
      const ctx = context();
      const at = (i: number): string => new Date(Date.parse("2026-03-03T14:00:00Z") + i * 1000).toISOString();
      const events = [
        ["charter_agent_support_triage", "customers"],
        ["charter_agent_support_triage", "customers"],
        ["dba_bob", "customers"],
        ["charter_agent_support_triage", "orders"],
        ["dba_bob", "payments"],
        ["charter_agent_support_triage", "customers"],
      ].map(([principal = "", table = ""], i) => sourceEvent({ sourceKey: `k${i}`, observedAt: at(i), principal, resource: `crm.public.${table}` }));
      await new TrailIngestor(store, () => ctx).submit(events);
      await sealPending(store, KEYS.signerKey, { maxEvents: 4 });
      const next = await anchorBody(store);
      expect(next?.body.segments.map((s) => [s.fromSeq, s.toSeq])).toEqual([
        [1, 4],
        [5, 6],
      ]);
      expect(next?.body.counts).toEqual([
        { agent: null, dataClass: null, events: 2 },
        { agent: null, dataClass: "customer-pii", events: 2 },
        { agent: null, dataClass: "internal", events: 2 },
        { agent: null, dataClass: "payment-card", events: 1 },
        { agent: "support-triage", dataClass: null, events: 4 },
        { agent: "support-triage", dataClass: "customer-pii", events: 3 },
        { agent: "support-triage", dataClass: "internal", events: 4 },
      ]);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("shows segments and checkpoints, coverage and the counts summed over anchors, linked from the README", () => {
    const genesis: NewRecord = { kind: "genesis", body: genesisBody(KEYS.verifierKey), observedAt: observedAt(0) };
    const branch = build([
      [genesis],
      // Written before anchors carried counts.
      [anchor(1, {})],
      [
        anchor(2, {
          segments: [
            { index: 1, fromSeq: 5, toSeq: 8, root: "b".repeat(64) },
            { index: 2, fromSeq: 9, toSeq: 9, root: "c".repeat(64) },
          ],
          checkpoint: `${ORIGIN}\n9\nLATESTROOT\n\n— charter-trail sig2\n`,
          coverage: [
            { source: "pgaudit", instance: "crm-prod", attested: true, events: 7, lastEventAt: "2026-03-03T15:00:00.000Z" },
            { source: "otlp", instance: "agents", attested: false, events: 2, lastEventAt: null },
          ],
          counts: [
            { agent: null, dataClass: null, events: 1 },
            { agent: "support-triage", dataClass: null, events: 4 },
            { agent: "support-triage", dataClass: "customer-pii", events: 3 },
          ],
        }),
      ],
      [anchor(3, { segments: [{ index: 3, fromSeq: 10, toSeq: 11, root: "d".repeat(64) }], checkpoint: `${ORIGIN}\n11\nNEWEST\n\n— charter-trail sig3\n`, counts: [{ agent: "support-triage", dataClass: "customer-pii", events: 2 }, { agent: "evil|agent", dataClass: null, events: 1 }] })],
    ]);
    const page = branch.get("trail/README.md") ?? "";
    expect(page).toContain("| Anchor records | 3 |");
    expect(page).toContain("| Segments anchored | 4 |");
    expect(page).toContain("| Events anchored | 1–11 |");
    // The latest checkpoint, not an earlier one.
    expect(page).toContain("NEWEST");
    expect(page).not.toContain("LATESTROOT");
    expect(page).toContain(`| [3](../pages/0/0/3.md) | 2026-01-02T00\\:03\\:00.000Z | 3–3 | 10–11 | \`${"d".repeat(64)}\` |`);
    expect(page).toContain(`| [2](../pages/0/0/2.md) |`);
    expect(page).toContain("| 1–2 | 5–9 |");
    // Coverage is the latest anchor's (pgaudit at 4 events, no otlp row), not the one before it.
    expect(page).toContain("| pgaudit | crm-prod | yes | 4 |");
    expect(page).not.toContain("| otlp |");
    const counts = page.slice(page.indexOf("### Events per agent and data class"));
    expect(counts.split("\n").filter((l) => l.startsWith("| ") && !l.startsWith("| Agent") && !l.startsWith("| ---"))).toEqual([
      "| _unattributed_ | _all_ | 1 |",
      "| evil\\|agent | _all_ | 1 |",
      "| support-triage | _all_ | 4 |",
      "| support-triage | customer-pii | 5 |",
    ]);
    expect(counts).toContain("1 earlier anchor record(s) carry no counts");
    expect(branch.get("README.md")).toContain("[segments, checkpoints, coverage per source and events per agent and data class](trail/README.md)");
    for (const [, target] of page.matchAll(/\]\(([^)]+)\)/g)) {
      const resolved = join("trail", decodeURIComponent(target ?? "")).replaceAll("\\", "/");
      expect(branch.has(resolved), `${target ?? ""} from the trail page`).toBe(true);
    }
    expect(relativePath("trail/README.md", "pages/0/0/3.md")).toBe("../pages/0/0/3.md");
  });
});
