import { type Diagnostic, diagnostic, FILE_START } from "../manifest/diagnostic.js";
import type { RepoReader } from "../manifest/repo-reader.js";
import { CATALOG_PATH, MAX_CATALOG_BYTES, parseResourceCatalog } from "./resource-catalog.js";

/**
 * Validates the resource catalog as a change leaves it, when the change touches it: a catalog
 * that does not parse would leave every event unclassified once merged, so its problems are
 * errors on their lines, like a manifest's. A deleted catalog is a change to review, not a file
 * to validate.
 */
export async function checkCatalogFile(head: RepoReader, changedPaths: readonly string[]): Promise<Diagnostic[]> {
  if (!changedPaths.includes(CATALOG_PATH)) return [];
  const entry = (await head.read([CATALOG_PATH], MAX_CATALOG_BYTES)).get(CATALOG_PATH) ?? { kind: "missing" };
  if (entry.kind === "missing") return [];
  if (entry.kind !== "file") {
    const what = entry.kind === "too-large" ? `larger than ${MAX_CATALOG_BYTES} bytes` : `a ${entry.kind}`;
    return [diagnostic(CATALOG_PATH, FILE_START, "file/not-a-file", `${CATALOG_PATH} is ${what}`, "Commit the resource catalog as one small UTF-8 YAML file.")];
  }
  const parsed = parseResourceCatalog(CATALOG_PATH, entry.bytes);
  return parsed.ok ? [] : [...parsed.diagnostics];
}
