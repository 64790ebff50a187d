import type { CharterPolicy } from "../schema-types/charter-policy.generated.js";

/**
 * The rules that apply when the base branch has no .github/charter.yml: secure by default.
 * Every agent change needs an owner's approval and a rollback plan; anything that gives an
 * agent more reach needs a second owner (separation of duties keeps the two people distinct);
 * governance changes need two maintainers.
 */
export const DEFAULT_POLICY: CharterPolicy = {
  version: 1,
  rules: [
    {
      name: "Owners approve every agent change",
      require: { approvals: 1, from: { owners: true }, sections: ["Rollback plan"] },
    },
    {
      name: "A second owner approves expansions",
      when: {
        changes: [
          "agent-created",
          "agent-reactivated",
          "tool-added",
          "permission-added",
          "permission-widened",
          "data-classification-added",
          "credential-provider-changed",
          "owners-changed",
        ],
      },
      require: { approvals: 1, from: { owners: true } },
    },
  ],
  governance: { require: { approvals: 2, from: { permission: "maintain" } } },
};
