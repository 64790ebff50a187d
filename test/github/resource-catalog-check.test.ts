import { afterEach, describe, expect, it } from "vitest";
import { ownAgents } from "../helpers/agents-fixture.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

let fx: AppFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

const CATALOG_PATH = ".github/charter-resources.yml";
const CATALOG = `apiVersion: charter/v1
kind: ResourceCatalog
resources:
  - match: postgres:crm.public.customers@crm-prod
    dataClasses: [customer-pii]
  - match: postgres:crm.public.orders@crm-prod
    dataClasses: [internal]
`;
const POLICY = `version: 1
rules:
  - name: Owners approve agent changes
    require: { approvals: 1, from: { owners: true } }
governance:
  require: { approvals: 1, from: { teams: [acme/security] } }
`;

function latest(f: AppFixture, sha: string) {
  const runs = f.sim.checkRunsFor(f.repo, sha).filter((run) => run.name === "Charter");
  const run = runs[runs.length - 1];
  if (!run) throw new Error("no Charter check run");
  return run;
}

async function start(): Promise<AppFixture> {
  const f = await startCharter({ ...ownAgents(), ".github/charter.yml": POLICY, [CATALOG_PATH]: CATALOG });
  f.sim.addTeam("acme", "support-eng", ["tara"]);
  f.sim.addTeam("acme", "security", ["sam"]);
  return f;
}

describe("a pull request that changes the resource catalog", () => {
  it("that drops customers from customer-pii is a critical governance change one ordinary approval does not carry", async () => {
    fx = await start();
    // The attack: the table's reads stop counting as customer data, so the off-hours question no longer finds them.
    const unclassified = CATALOG.replace("  - match: postgres:crm.public.customers@crm-prod\n    dataClasses: [customer-pii]\n", "");
    const { pull, sha } = await fx.sim.openPullRequest(fx.repo, { author: "bob", branch: "declassify", title: "Tidy the catalog", body: "", files: { [CATALOG_PATH]: unclassified } });
    expect(latest(fx, sha).conclusion).toBe("action_required");
    expect(latest(fx, sha).output.summary).toContain("| governance | catalog-changed | critical |");
    expect(latest(fx, sha).output.summary).toContain(`Governance files changed (${CATALOG_PATH})`);
    expect(latest(fx, sha).output.title).toBe("Waiting: Needs 1 more approval from @acme/security");
    // An owner of the agent that reads the table approves: not enough for governed data.
    await fx.sim.submitReview(pull, { user: "dana-support", state: "APPROVED" });
    expect(latest(fx, sha).conclusion).toBe("action_required");
    await fx.sim.submitReview(pull, { user: "sam", state: "APPROVED" });
    expect(latest(fx, sha).conclusion).toBe("success");
    expect(fx.sim.rejected).toEqual([]);
  });

  it("fails with an annotation on the line of each problem in the proposed catalog", async () => {
    fx = await start();
    const f = fx;
    const annotations = async (branch: string, text: string) => {
      const { pull, sha } = await f.sim.openPullRequest(f.repo, { author: "bob", branch, title: "Catalog", body: "", files: { [CATALOG_PATH]: text } });
      await f.sim.submitReview(pull, { user: "sam", state: "APPROVED" });
      const run = latest(f, sha);
      expect(run.conclusion).toBe("failure");
      return run.output.annotations.map((a) => ({ path: a.path, line: a.start_line, level: a.annotation_level, title: a.title }));
    };
    const misspelt = `${CATALOG}  - match: postgres:crm.public.refunds@crm-prod
    dataclasses: [payment-card]
`;
    expect(await annotations("misspelt", misspelt)).toEqual([
      { path: CATALOG_PATH, line: 8, level: "failure", title: "Charter schema/required" },
      { path: CATALOG_PATH, line: 9, level: "failure", title: "Charter schema/unknown-key" },
    ]);
    // A wildcard in the middle would classify nothing the author meant; a second entry for
    // customers would quietly add classes to, or be read as replacing, the first.
    const ambiguous = `${CATALOG}  - match: postgres:crm.*.customers
    dataClasses: [customer-pii]
  - match: postgres:crm.public.customers@crm-prod
    dataClasses: [internal]
`;
    expect(await annotations("ambiguous", ambiguous)).toEqual([
      { path: CATALOG_PATH, line: 8, level: "failure", title: "Charter catalog/invalid-match" },
      { path: CATALOG_PATH, line: 10, level: "failure", title: "Charter catalog/duplicate-match" },
    ]);
  });
});
