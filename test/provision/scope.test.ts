import { describe, expect, it } from "vitest";
import type { DesiredAgent, PlannedOperation, Provider } from "../../src/provision/provider.js";
import { scopedProvider } from "../../src/provision/scope.js";

/** A provider whose diff reports one step and one finding per agent it sees, and a marker step for none. */
function reporting(): Provider<readonly string[]> & { applied: PlannedOperation[] } {
  const applied: PlannedOperation[] = [];
  return {
    name: "local",
    instance: undefined,
    applied,
    handles: () => true,
    observe: () => Promise.resolve(["alpha", "beta", "gamma"]),
    diff: (_desired: readonly DesiredAgent[], observed) => ({
      operations: [{ provider: "local", agent: "*", action: "create-marker", target: "marker" }, ...observed.map((agent) => ({ provider: "local", agent, action: "grant", target: `${agent}-grant` }))],
      findings: observed.map((agent) => ({ provider: "local", agent, kind: "orphaned-identity", detail: agent })),
    }),
    apply: (operations) => {
      applied.push(...operations);
      return Promise.resolve(operations.map((op) => ({ ...op, status: "applied" as const })));
    },
    close: () => Promise.resolve(),
  };
}

describe("a provider scoped to the agents a merge changed", () => {
  it("plans, reports and applies only for those agents, and keeps steps that belong to no agent", async () => {
    const inner = reporting();
    const scoped = scopedProvider(inner, new Set(["beta"]));
    const diff = scoped.diff([], await scoped.observe(), { prune: false });
    expect(diff.operations.map((op) => `${op.agent} ${op.action}`)).toEqual(["* create-marker", "beta grant"]);
    expect(diff.findings.map((f) => f.agent)).toEqual(["beta"]);
    await scoped.apply(diff.operations);
    expect(inner.applied.map((op) => op.agent)).toEqual(["*", "beta"]);
    expect([scoped.name, scoped.instance]).toEqual(["local", undefined]);
  });
});
