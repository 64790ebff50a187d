import { afterEach, describe, expect, it } from "vitest";
import type { AccessReviewRecord, ChangeRecord } from "../../src/schema-types/evidence-record.generated.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import type { RepositorySchedule } from "../../src/github/scheduled/schedule.js";
import { approvedPullRequest, AGENTS, ledger, verifyClone } from "../faults/fault-fixture.js";
import { type AppFixture, startCharter } from "./app-fixture.js";

const KEYS = generateSignerKey("charter-test-access-review");
let fx: AppFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe("the periodic access review", () => {
  it("snapshots every recorded agent into an access-review record, once per period", async () => {
    let schedule: RepositorySchedule | undefined;
    fx = await startCharter(AGENTS, { signingKey: KEYS.signerKey, onSchedule: (s) => (schedule = s) });
    const { sim, repo } = fx;
    const opened = await approvedPullRequest(sim, repo, "model", "20251101");
    await sim.mergePullRequest(opened.pull, { by: "dana-support" });
    await sim.idle();
    await schedule?.tick();
    await schedule?.tick();

    const records = ledger(sim, repo);
    const change = records.find((r): r is ChangeRecord => r.kind === "change");
    const reviews = records.filter((r): r is AccessReviewRecord => r.kind === "access-review");
    expect(reviews).toHaveLength(1);
    const body = reviews[0]?.body;
    expect(body?.commit).toBe(change?.body.mergeSha);
    expect(body?.agents).toEqual([
      expect.objectContaining({
        agent: "support-triage",
        status: "active",
        owners: expect.arrayContaining(["@acme/support-eng", "@dana-support"]) as string[],
        permissions: expect.arrayContaining(["postgres:select:crm.public.customers@crm-prod"]) as string[],
        dataClassifications: ["customer-pii", "internal"],
        provider: "postgres",
        lastChange: { seq: change?.seq, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) as string },
        drift: false,
      }),
    ]);
    expect(await verifyClone(sim, repo, KEYS.verifierKey)).toMatchObject({ ok: true, problems: [] });
    expect(sim.rejected).toEqual([]);
  });
});
