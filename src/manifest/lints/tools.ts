import type { Lint } from "./lint-context.js";

export const toolsLint: Lint = {
  reads: ["/tools", "/runtime"],
  run(ctx) {
  const seen = new Map<string, number>();
  ctx.manifest.tools.forEach((tool, i) => {
    const first = seen.get(tool.name);
    if (first !== undefined) {
      ctx.report(`/tools/${i}/name`, "tool/duplicate-name", `tool "${tool.name}" is declared twice (also tools[${first}])`, "Merge the two entries into one tool.");
    } else {
      seen.set(tool.name, i);
    }
  });
  ctx.manifest.runtime?.humanApprovalRequiredFor?.forEach((name, i) => {
    if (!seen.has(name)) {
      ctx.report(`/runtime/humanApprovalRequiredFor/${i}`, "runtime/unknown-tool", `"${name}" is not one of this agent's tools`, "Name a tool declared under tools, or remove the entry.");
    }
  });
  },
};
