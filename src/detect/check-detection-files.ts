import { type Diagnostic, diagnostic, FILE_START } from "../manifest/diagnostic.js";
import type { RepoReader } from "../manifest/repo-reader.js";
import { isRuleFile, loadRules, RULE_LIMITS } from "./sigma/load-rules.js";
import { DETECTION_DIR, parseSettings, RULES_DIR, SETTINGS_FILE } from "./settings.js";

/**
 * Validates the detection files a change touches, as they are at its head: each changed rule
 * file under detection/rules/ (a correlation joins rules of its own file, so a file is checked
 * alone) and the settings file. Problems come back as positioned Diagnostics, warnings for rules
 * that would fire on most events. Reads only the changed files: the cost does not grow with the
 * rules directory or the repository.
 */
export async function checkDetectionFiles(head: RepoReader, changedPaths: readonly string[]): Promise<Diagnostic[]> {
  const paths = [...new Set(changedPaths)].filter((p) => p.startsWith(DETECTION_DIR)).sort();
  if (paths.length === 0) return [];
  const entries = await head.read(paths, RULE_LIMITS.maxFileBytes);
  const out: Diagnostic[] = [];
  const rules: { path: string; bytes: Uint8Array }[] = [];
  for (const path of paths) {
    const entry = entries.get(path) ?? { kind: "missing" };
    // A deleted file is a change to review, not a file to validate.
    if (entry.kind === "missing") continue;
    const isRules = path.startsWith(RULES_DIR) && isRuleFile(path);
    if (path !== SETTINGS_FILE && !isRules) {
      if (entry.kind !== "directory") out.push(diagnostic(path, FILE_START, "sigma/unsupported", `${path} is neither a rule file (${RULES_DIR}*.yml) nor ${SETTINGS_FILE}; detection does not read it`, "Move rules under detection/rules/ with a .yml extension, or remove the file.", { severity: "warning" }));
      continue;
    }
    if (entry.kind !== "file") {
      const what = entry.kind === "too-large" ? `larger than ${RULE_LIMITS.maxFileBytes} bytes` : `a ${entry.kind}`;
      out.push(diagnostic(path, FILE_START, "file/not-a-file", `${path} is ${what}`, "Commit detection files as small UTF-8 YAML files."));
      continue;
    }
    if (path === SETTINGS_FILE) {
      const parsed = parseSettings(entry.bytes, path);
      if (!parsed.ok) out.push(...parsed.diagnostics);
    } else rules.push({ path, bytes: entry.bytes });
  }
  out.push(...loadRules(rules).diagnostics);
  return out;
}
