import type { Lint } from "./lint-context.js";

export const lifecycleLint: Lint = {
  reads: ["/status", "/retirement"],
  run(ctx) {
  const { status, retirement } = ctx.manifest;
  if (status === "retired" && !retirement) {
    ctx.report("/status", "lifecycle/retirement-missing", "retired agent has no retirement block", "Add retirement: { date: YYYY-MM-DD, reason: ... } so the record says when and why.");
  }
  if (status === "active" && retirement) {
    ctx.report("/retirement", "lifecycle/retirement-unexpected", "active agent has a retirement block", "Set status: retired, or remove the retirement block.", { prefer: "key" });
  }
  },
};
