import type { Lint } from "./lint-context.js";

/**
 * Prompt paths are resolved against the manifest's directory and must stay inside it. This
 * check is textual; symlinks are followed and checked when the files are read.
 */
export const promptPathsLint: Lint = {
  reads: ["/prompts"],
  run(ctx) {
  const seen = new Map<string, number>();
  ctx.manifest.prompts.forEach((prompt, i) => {
    const pointer = `/prompts/${i}/path`;
    const segments = prompt.path.split("/");
    if (segments.some((s) => s === ".." || s === "." || s === "") || prompt.path.startsWith("/")) {
      ctx.report(pointer, "prompt/outside-directory", `prompt path "${prompt.path}" must be a plain relative path inside the agent's directory`, "Remove '..', '.', empty and leading '/' segments; keep prompts beside agent.yaml.");
      return;
    }
    const first = seen.get(prompt.path);
    if (first !== undefined) {
      ctx.report(pointer, "prompt/duplicate", `prompt "${prompt.path}" is listed twice (also prompts[${first}])`, "List each prompt file once.");
    } else {
      seen.set(prompt.path, i);
    }
  });
  },
};
