import { floatingReason } from "../model-version.js";
import type { Lint } from "./lint-context.js";

export const modelLint: Lint = {
  reads: ["/model"],
  run(ctx) {
  const { name, version } = ctx.manifest.model;
  const reason = floatingReason(name, version);
  if (reason) {
    const pointer = reason.startsWith("model name") ? "/model/name" : "/model/version";
    ctx.report(pointer, "model/unpinned", `${reason}: the provider could change the model without a pull request`, "Pin an exact model snapshot, e.g. version: \"20250929\".");
  }
  },
};
