import { posix } from "node:path";
import type { Lint } from "./lint-context.js";

export const MANIFEST_FILE_NAMES: readonly string[] = ["agent.yaml", "agent.yml"];

/**
 * A manifest lives at <dir>/<id>/agent.yaml. Tying the id to the directory makes ids unique by
 * construction within a tree, and lets a reader find an agent's files from its id alone.
 */
export const locationLint: Lint = {
  reads: ["/id"],
  run(ctx) {
  const base = posix.basename(ctx.file);
  const dir = posix.basename(posix.dirname(ctx.file));
  if (!MANIFEST_FILE_NAMES.includes(base)) {
    ctx.report("", "manifest/location", `manifest file is named "${base}"`, `Rename it to agents/${ctx.manifest.id}/agent.yaml.`);
    return;
  }
  if (dir !== ctx.manifest.id) {
    ctx.report(
      "/id",
      "manifest/location",
      `id "${ctx.manifest.id}" does not match its directory "${dir}"`,
      `Move the file to agents/${ctx.manifest.id}/agent.yaml, or set id to "${dir}" (ids are permanent: do not rename an existing agent).`,
    );
  }
  },
};
