import { describe, expect, it } from "vitest";
import { signCheckpoint } from "../../src/evidence/checkpoint.js";
import { leafHash } from "../../src/evidence/merkle.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { advanceWitness, formatWitnessState, parseWitnessState, planWitness, type WitnessedLog } from "../../src/evidence/witness.js";
import { CharterError } from "../../src/errors.js";
import { type BuiltLedger, buildLedger, ORIGIN } from "./ledger-fixture.js";

const keys = generateSignerKey(ORIGIN);
const ledger = buildLedger(9, keys);
const leaves = ledger.records.map((r) => leafHash(r.bytes));

/** The witness state after cosigning the ledger's first `size` records. */
function witnessed(size: number, from: BuiltLedger = ledger): WitnessedLog {
  const plan = planWitness(null, from.checkpoints[size] ?? "", keys.verifierKey);
  if (plan.kind !== "read") throw new Error(plan.kind);
  const tree = advanceWitness(null, plan.checkpoint, from.records.slice(0, size).map((r) => leafHash(r.bytes)));
  if (tree.kind !== "cosign") throw new Error(tree.message);
  return { origin: tree.origin, size: tree.size, root: tree.root, frontier: tree.frontier, logKey: keys.verifierKey, cosignedAt: 1, note: from.checkpoints[size] ?? "" };
}

describe("the witness's decision", () => {
  it("asks only for the records added since the tree it cosigned, and accepts their extension", () => {
    for (const [m, n] of [[1, 2], [3, 10], [4, 8], [5, 7], [8, 10]] as const) {
      const plan = planWitness(witnessed(m), ledger.checkpoints[n] ?? "", undefined);
      expect(plan).toMatchObject({ kind: "read", from: m, to: n });
      if (plan.kind !== "read") continue;
      const tree = advanceWitness(witnessed(m), plan.checkpoint, leaves.slice(m, n));
      expect(tree).toMatchObject({ kind: "cosign", size: n });
      if (tree.kind === "cosign") expect(tree.frontier).toEqual(witnessed(n).frontier);
    }
    expect(planWitness(witnessed(4), ledger.checkpoints[4] ?? "", undefined).kind).toBe("unchanged");
  });

  it("refuses a smaller tree, another root at the same size, and leaves that do not extend the old tree", () => {
    expect(planWitness(witnessed(6), ledger.checkpoints[4] ?? "", undefined)).toMatchObject({ kind: "refuse", code: "truncated" });
    const fork = signCheckpoint({ origin: ORIGIN, size: 6, root: new Uint8Array(32).fill(7), extensions: [] }, [keys.signerKey]);
    expect(planWitness(witnessed(6), fork, undefined)).toMatchObject({ kind: "refuse", code: "forked" });
    expect(planWitness(witnessed(6), buildLedger(5).checkpoint, undefined)).toMatchObject({ kind: "refuse", code: "signature-invalid" });
    expect(planWitness(witnessed(6), ledger.checkpoint, generateSignerKey(ORIGIN).verifierKey)).toMatchObject({ kind: "refuse", code: "log-key-changed" });
    const plan = planWitness(witnessed(4), ledger.checkpoints[8] ?? "", undefined);
    if (plan.kind !== "read") throw new Error(plan.kind);
    const wrong = leaves.slice(4, 8).reverse();
    expect(advanceWitness(witnessed(4), plan.checkpoint, wrong)).toMatchObject({ kind: "refuse", code: "inconsistent" });
  });

  it("refuses a first tree whose records do not hash to the signed root, and another origin", () => {
    const plan = planWitness(null, ledger.checkpoints[5] ?? "", keys.verifierKey);
    if (plan.kind !== "read") throw new Error(plan.kind);
    expect(advanceWitness(null, plan.checkpoint, leaves.slice(1, 6))).toMatchObject({ kind: "refuse", code: "inconsistent" });
    expect(planWitness({ ...witnessed(3), origin: "another.example/log" }, ledger.checkpoint, undefined)).toMatchObject({ kind: "refuse", code: "origin-mismatch" });
    expect(planWitness(witnessed(3), "garbage", undefined)).toMatchObject({ kind: "refuse", code: "checkpoint-malformed" });
  });

  it("keeps its state in a file it can read back, and refuses a corrupted one", () => {
    const state = witnessed(7);
    const restored = parseWitnessState(formatWitnessState(state), "state.json");
    expect(formatWitnessState(restored)).toBe(formatWitnessState(state));
    expect(restored.size).toBe(7);
    const text = formatWitnessState(state).replace(/"size": 7/, '"size": 6');
    expect(() => parseWitnessState(text, "state.json")).toThrow(CharterError);
    expect(() => parseWitnessState("{", "state.json")).toThrow("state.json: is not JSON");
  });
});
