import type { ProbotOctokit } from "probot";
import { isRuleFile, loadRules, RULE_LIMITS, type RuleFile } from "../../detect/sigma/load-rules.js";
import { DEFAULT_SETTINGS, parseSettings, RULES_DIR, SETTINGS_FILE } from "../../detect/settings.js";
import { type Diagnostic, diagnostic, FILE_START } from "../../manifest/diagnostic.js";
import type { DetectionConfig } from "../../sources/live-detection.js";

type Blob = { readonly __typename: string; readonly text?: string | null; readonly byteSize?: number; readonly isTruncated?: boolean } | null;
interface Entry {
  readonly name: string;
  readonly type: string;
  readonly object: (Blob & { readonly entries?: readonly Entry[] }) | null;
}

const BLOB = "... on Blob { byteSize text isTruncated }";
const QUERY = `query CharterDetectionFiles($owner: String!, $name: String!, $rules: String!, $settings: String!) {
  repository(owner: $owner, name: $name) {
    rules: object(expression: $rules) { __typename ... on Tree { entries { name type object { __typename ${BLOB} ... on Tree { entries { name type object { __typename ${BLOB} } } } } } } }
    settings: object(expression: $settings) { __typename ${BLOB} }
  }
}`;

export interface LoadedDetection {
  /** Undefined when the settings file has errors: the caller keeps what is in force. */
  readonly config: DetectionConfig | undefined;
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * The detection rules and settings in force: detection/ on the default branch (HEAD), in one
 * GraphQL query. A pull request that changes a rule changes nothing here until it is merged.
 * Rule files sit in detection/rules/ or one folder below it. A rule file with errors is left
 * out (its diagnostics are returned for the log; the check run showed them before the merge);
 * settings with errors leave the previous configuration in force.
 */
export async function readDetectionConfig(octokit: Pick<ProbotOctokit, "graphql">, target: { readonly owner: string; readonly repo: string }): Promise<LoadedDetection> {
  const result = await octokit.graphql<{ repository: { rules: (Blob & { entries?: readonly Entry[] }) | null; settings: Blob } | null }>(QUERY, {
    owner: target.owner,
    name: target.repo,
    rules: `HEAD:${RULES_DIR.replace(/\/$/, "")}`,
    settings: `HEAD:${SETTINGS_FILE}`,
  });
  const files: RuleFile[] = [];
  const skipped: Diagnostic[] = [];
  const walk = (entries: readonly Entry[], prefix: string): void => {
    for (const entry of entries) {
      const path = `${prefix}${entry.name}`;
      if (entry.type === "tree") walk(entry.object?.entries ?? [], `${path}/`);
      else if (entry.type === "blob" && isRuleFile(path) && entry.object?.__typename === "Blob" && typeof entry.object.text === "string") {
        if ((entry.object.byteSize ?? 0) > RULE_LIMITS.maxFileBytes || entry.object.isTruncated === true) {
          skipped.push(diagnostic(path, FILE_START, "file/not-a-file", `${path} is larger than ${RULE_LIMITS.maxFileBytes} bytes; detection does not read it`, "Split the rule file."));
          continue;
        }
        if (files.length < RULE_LIMITS.maxRules) files.push({ path, bytes: new TextEncoder().encode(entry.object.text) });
      }
    }
  };
  walk(result.repository?.rules?.entries ?? [], RULES_DIR);
  const loaded = loadRules(files);
  const settingsBlob = result.repository?.settings;
  let settings = DEFAULT_SETTINGS;
  if (settingsBlob?.__typename === "Blob" && typeof settingsBlob.text === "string") {
    const parsed = parseSettings(new TextEncoder().encode(settingsBlob.text), SETTINGS_FILE);
    if (!parsed.ok) return { config: undefined, diagnostics: [...skipped, ...loaded.diagnostics, ...parsed.diagnostics] };
    settings = parsed.settings;
  }
  return { config: { rules: loaded.rules, settings }, diagnostics: [...skipped, ...loaded.diagnostics] };
}
