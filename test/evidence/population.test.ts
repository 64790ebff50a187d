import { describe, expect, it } from "vitest";
import { POPULATION_COLUMNS, populationRow, type PopulationRow } from "../../src/evidence/population.js";
import type { EvidenceRecord } from "../../src/schema-types/evidence-record.generated.js";
import { changeBody, REPOSITORY } from "./ledger-fixture.js";

const PUSHED = ["1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"];

const change: EvidenceRecord = { schema: "charter.evidence/v1", seq: 1, kind: "change", prev: "0".repeat(64), observedAt: "2026-01-02T10:00:05.000Z", body: changeBody(1) };
const directPush: EvidenceRecord = {
  schema: "charter.evidence/v1",
  seq: 2,
  kind: "exception",
  prev: "1".repeat(64),
  observedAt: "2026-01-03T08:00:00.000Z",
  body: { kind: "direct-push", repository: { ...REPOSITORY }, commits: PUSHED, pullRequest: null, reason: "pushed to main without a pull request", agents: ["support-triage"], issue: 7 },
};
const bypass: EvidenceRecord = {
  ...directPush,
  seq: 3,
  body: { ...directPush.body, kind: "admin-bypass", commits: [PUSHED[0] ?? ""], pullRequest: { number: 9, url: "https://github.com/acme/agents/pull/9", title: "Hotfix" }, reason: "merged while Charter's check failed" },
};

const rows = [change, directPush, bypass].map((r) => populationRow(r, `records/${r.seq}.json`, "a".repeat(64)));
const [changeRow, pushRow, bypassRow] = rows as [PopulationRow, PopulationRow, PopulationRow];

const SHA_LIST = /^([0-9a-f]{40})( [0-9a-f]{40})*$/;
const TIME = /^\d{4}-\d\d-\d\dT/;

/** What each column may hold, on any row: one meaning each ("" where a record lacks the fact). */
const MEANING: Readonly<Record<keyof PopulationRow, (value: unknown) => boolean>> = {
  seq: (v) => Number.isSafeInteger(v),
  kind: (v) => v === "change" || v === "exception",
  pullRequest: (v) => v === null || Number.isSafeInteger(v),
  title: (v) => typeof v === "string" && !/exception|pushed|merged while/.test(v),
  url: (v) => v === "" || (typeof v === "string" && v.startsWith("https://")),
  author: (v) => typeof v === "string",
  mergedBy: (v) => typeof v === "string",
  mergedAt: (v) => v === "" || (typeof v === "string" && TIME.test(v)),
  recordedAt: (v) => typeof v === "string" && TIME.test(v),
  decision: (v) => v === "" || v === "approved" || v === "pending" || v === "blocked" || v === "invalid",
  exception: (v) => v === "" || v === "admin-bypass" || v === "direct-push",
  reason: (v) => typeof v === "string",
  emergency: (v) => typeof v === "boolean",
  agents: (v) => typeof v === "string",
  changes: (v) => typeof v === "string" && !SHA_LIST.test(v),
  maxRisk: (v) => v === "" || v === "low" || v === "medium" || v === "high" || v === "critical",
  approvers: (v) => typeof v === "string",
  checks: (v) => v === "" || (typeof v === "string" && /^[^;]+ \([a-z_]+\)(; [^;]+ \([a-z_]+\))*$/.test(v)),
  commits: (v) => typeof v === "string" && SHA_LIST.test(v),
  path: (v) => typeof v === "string" && v.startsWith("records/"),
  sha256: (v) => typeof v === "string" && /^[0-9a-f]{64}$/.test(v),
};

describe("the population's columns", () => {
  it("every column holds its one kind of value on change, direct-push and bypass rows", () => {
    expect(Object.keys(MEANING).sort()).toEqual([...POPULATION_COLUMNS].sort());
    for (const row of rows) {
      for (const column of POPULATION_COLUMNS) expect(MEANING[column](row[column]), `${row.kind} seq ${row.seq}: ${column} = ${JSON.stringify(row[column])}`).toBe(true);
    }
  });

  it("a direct push: its commits in commits and its reason in reason, not in checks and title", () => {
    expect(pushRow).toMatchObject({ kind: "exception", exception: "direct-push", pullRequest: null, title: "", url: "", checks: "", decision: "", mergedAt: "" });
    expect(pushRow.commits).toBe(PUSHED.join(" "));
    expect(pushRow.reason).toBe("pushed to main without a pull request");
    expect(pushRow.recordedAt).toBe("2026-01-03T08:00:00.000Z");
  });

  it("a bypass names its pull request; a change its merge commit, GitHub's merge time and the time it was recorded", () => {
    expect(bypassRow).toMatchObject({ exception: "admin-bypass", pullRequest: 9, title: "Hotfix", decision: "", commits: PUSHED[0] });
    expect(changeRow).toMatchObject({ exception: "", reason: "", decision: "approved", mergedAt: "2026-01-02T10:00:00Z", recordedAt: "2026-01-02T10:00:05.000Z" });
    expect(changeRow.commits).toBe(changeBody(1).mergeSha);
  });
});
