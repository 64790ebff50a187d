import type { ProbotOctokit } from "probot";
import type { ProvisioningSettings } from "../../provision/config.js";
import { CATALOG_PATH, catalogForSync, type ResourceCatalog } from "../../trail/resource-catalog.js";
import { readBlobTexts } from "./blob-texts.js";

/**
 * Whether a sync needs the resource catalog: only pgaudit object auditing reads it (the tables it
 * classifies are the ones audited), so without it no request is spent on the file.
 */
export function needsCatalog(settings: ProvisioningSettings): boolean {
  return settings.postgres.some((p) => p.objectAudit !== undefined);
}

/** The catalog for a sync from the file's text as GitHub returned it (null: no such file). */
export function catalogFromText(text: string | null | undefined): ResourceCatalog {
  return catalogForSync(typeof text === "string" ? new TextEncoder().encode(text) : undefined);
}

/** The resource catalog at a commit of the default branch, for a sync: one GraphQL query. */
export async function catalogAt(octokit: Pick<ProbotOctokit, "graphql">, target: { readonly owner: string; readonly repo: string }, revision: string): Promise<ResourceCatalog> {
  return catalogFromText((await readBlobTexts(octokit, target, revision, [CATALOG_PATH])).get(CATALOG_PATH));
}
