import { readFileSync, statSync } from "node:fs";
import { CharterError } from "../errors.js";
import { checkRunFactsFromGraph, commitFactsFromGraph, type GraphCheckSuite, type GraphPullRequestCommit } from "../policy/graph-facts.js";
import { checkRunFactsFromRest, commitFactsFromRest, type RestCheckRun, type RestCommit, type RestFacts } from "../policy/rest-facts.js";
import type { Diagnostic } from "../manifest/diagnostic.js";
import { DEFAULT_LIMITS } from "../manifest/limits.js";
import { type ParsedYaml, parseYaml } from "../manifest/parse-yaml.js";
import { validateAgainstSchema } from "../manifest/schema-validator.js";
import { validate as snapshotValidator } from "../schema-types/pull-request-snapshot.validator.generated.js";
import { positionAt } from "../manifest/text-position.js";
import type { RepositoryPermission } from "../policy/pull-facts.js";

/** A snapshot holds a few hundred reviews and commits at most; anything larger is a mistake. */
const MAX_SNAPSHOT_BYTES = 32 * 1024 * 1024;

interface Snapshot {
  readonly pull_request: RestFacts["pullRequest"];
  readonly reviews: RestFacts["reviews"];
  readonly commits: readonly (RestCommit | GraphPullRequestCommit)[];
  readonly check_runs?: readonly RestCheckRun[];
  readonly check_suites?: readonly GraphCheckSuite[];
  readonly workflow_jobs?: Readonly<Record<string, readonly { readonly check_run_url: string }[]>>;
  readonly team_memberships?: Readonly<Record<string, readonly string[]>>;
  readonly permissions?: Readonly<Record<string, RepositoryPermission>>;
}

/**
 * Reads a pull request snapshot (schemas/pull-request-snapshot.schema.json) into the REST facts
 * the policy consumes. Errors name the file, line and what is wrong; positions are worked out
 * only when something is wrong, so a large valid snapshot costs one JSON.parse.
 */
export function readSnapshot(path: string, displayPath: string): { facts: RestFacts } | { diagnostics: readonly Diagnostic[] } {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new CharterError("NOT_FOUND", `${displayPath}: no such file`, { hint: "Pass the snapshot written by the commands in docs/policy.md (\"Testing a policy offline\")." });
  }
  if (size > MAX_SNAPSHOT_BYTES) throw new CharterError("LIMIT_EXCEEDED", `${displayPath} is ${size} bytes; the limit is ${MAX_SNAPSHOT_BYTES}`);
  const text = readFileSync(path, "utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const offset = Number(/position (\d+)/.exec(String(error))?.[1] ?? 0);
    const at = positionAt(text, offset);
    const message = error instanceof Error ? error.message.replace(/ in JSON at position \d+.*$/s, "") : "invalid JSON";
    throw new CharterError("USAGE", `${displayPath}:${at.line}:${at.column}: not valid JSON: ${message}`, { hint: "The snapshot is JSON written by `gh api` and jq; see docs/policy.md." });
  }
  // The value is checked against the schema with a lazily positioned view: the YAML parser
  // (which knows lines) runs only when there is an error to place.
  let positioned: ParsedYaml | undefined;
  const parsed: ParsedYaml = {
    value,
    locate(pointer, prefer) {
      positioned ??= (() => {
        const result = parseYaml(displayPath, text, { ...DEFAULT_LIMITS, maxNodes: 10_000_000, maxAliases: 0, maxDepth: 64 });
        return result.ok ? result.parsed : undefined;
      })();
      return positioned?.locate(pointer, prefer) ?? { start: { line: 1, column: 1 }, end: { line: 1, column: 1 } };
    },
  };
  const errors = validateAgainstSchema(snapshotValidator, displayPath, parsed);
  if (errors.length > 0) return { diagnostics: errors };
  const snapshot = value as Snapshot;
  const jobs = new Map<number, Set<number>>();
  for (const [runId, list] of Object.entries(snapshot.workflow_jobs ?? {})) {
    jobs.set(Number(runId), new Set(list.map((job) => Number(/\/check-runs\/(\d+)$/.exec(job.check_run_url)?.[1])).filter(Number.isSafeInteger)));
  }
  return {
    facts: {
      pullRequest: snapshot.pull_request,
      reviews: snapshot.reviews,
      // Each commit in whichever of GitHub's two shapes the snapshot holds it.
      commits: snapshot.commits.flatMap((c) => ("sha" in c ? commitFactsFromRest([c]) : commitFactsFromGraph([c]))),
      checkRuns: snapshot.check_suites ? checkRunFactsFromGraph(snapshot.check_suites, jobs) : checkRunFactsFromRest(snapshot.check_runs ?? []),
      teamMembers: snapshot.team_memberships ?? {},
      permissions: snapshot.permissions ?? {},
    },
  };
}
