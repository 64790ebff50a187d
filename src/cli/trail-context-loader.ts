import { gitLedgerSource } from "../audit/git-ledger-source.js";
import { isCharterError } from "../errors.js";
import { runGit } from "../git/run-git.js";
import { TrailContext } from "../sources/trail-context.js";
import type { TrailStore } from "../sources/trail-store.js";
import { CATALOG_PATH } from "../trail/resource-catalog.js";
import { DEFAULT_EVIDENCE_BRANCH } from "./verify-command.js";

/**
 * The ingest context for the CLI, from a local clone: the manifests in force over time from its
 * evidence branch, the resource catalog as committed at HEAD (the reviewed version, not a
 * working-tree edit), bindings the trail remembers, and the local provider's tokens when
 * CHARTER_LOCAL_DB is set.
 */
export async function loadCliContext(store: TrailStore, root: string | null, env: Readonly<Record<string, string | undefined>>, branch?: string): Promise<{ context: TrailContext; notes: string[] }> {
  const context = new TrailContext({ ...(env["CHARTER_TRAIL_SKEW"] ? { skewMs: Number(env["CHARTER_TRAIL_SKEW"]) * 1000 } : {}) });
  const notes: string[] = [];
  await context.loadBindings(store);
  const registry = env["CHARTER_LOCAL_DB"]?.trim();
  if (registry) context.loadLocalTokens(registry);
  if (root === null) {
    notes.push("no repository: events are recorded without manifest versions, scope, allowed hours or data classes");
    return { context, notes };
  }
  const candidates = branch === undefined ? [DEFAULT_EVIDENCE_BRANCH, `origin/${DEFAULT_EVIDENCE_BRANCH}`] : [branch];
  let loaded = false;
  for (const ref of candidates) {
    try {
      const source = await gitLedgerSource(root, ref);
      try {
        await context.loadLedger(source);
      } finally {
        await source.close();
      }
      loaded = true;
      break;
    } catch (error) {
      if (!isCharterError(error) || error.code !== "NOT_FOUND") throw error;
    }
  }
  if (!loaded) notes.push(`no evidence branch in ${root}: events are recorded without manifest versions`);
  const catalog = await runGit(root, ["show", `HEAD:${CATALOG_PATH}`]);
  context.loadCatalog(CATALOG_PATH, catalog.code === 0 ? catalog.stdout : null);
  if (catalog.code !== 0) notes.push(`no ${CATALOG_PATH} committed: events carry no data classes`);
  return { context, notes };
}
