import type { Diagnostic } from "../manifest/diagnostic.js";
import type { RepoReader } from "../manifest/repo-reader.js";
import { checkCatalogFile } from "../trail/check-catalog-file.js";
import { checkDetectionFiles } from "./check-detection-files.js";

/**
 * The head's copies of the governed files that steer run-time monitoring: the detection rules
 * and settings, and the resource catalog that says which resources hold which data. The pull
 * request check and `charter evaluate` both hand this to assessChange, so they cannot disagree.
 */
export async function checkRuntimeFiles(head: RepoReader, changedPaths: readonly string[]): Promise<Diagnostic[]> {
  const [detection, catalog] = await Promise.all([checkDetectionFiles(head, changedPaths), checkCatalogFile(head, changedPaths)]);
  return [...detection, ...catalog];
}
