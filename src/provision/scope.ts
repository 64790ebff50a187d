import type { Provider } from "./provider.js";

/**
 * A provider seen through a window of agents: its plan and findings are cut down to the agents
 * in scope (and to steps that belong to no agent, such as creating the ownership marker). After a
 * merge Charter provisions the agents that merge changed, from the manifests it approved, without
 * reading every manifest in the repository; identities of other agents are neither touched nor
 * reported as orphans by that run. Drift detection and `charter sync` use the whole inventory.
 */
export function scopedProvider<Observed>(provider: Provider<Observed>, agents: ReadonlySet<string>): Provider<Observed> {
  return {
    name: provider.name,
    instance: provider.instance,
    handles: (permission) => provider.handles(permission),
    observe: () => provider.observe(),
    diff: (desired, observed, options) => {
      const diff = provider.diff(desired, observed, options);
      return {
        operations: diff.operations.filter((op) => op.agent === "*" || agents.has(op.agent)),
        findings: diff.findings.filter((f) => f.agent === "*" || agents.has(f.agent)),
      };
    },
    apply: (operations) => provider.apply(operations),
    close: () => provider.close(),
  };
}
