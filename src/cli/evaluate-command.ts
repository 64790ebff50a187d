import { resolve } from "node:path";
import { CharterError } from "../errors.js";
import { withCommitPair } from "../git/commit-pair.js";
import { inventoryIdentitiesAt } from "../git/inventory-identities.js";
import { IdentityCache } from "../manifest/inventory-identities.js";
import { pullFactsFromRest } from "../policy/rest-facts.js";
import { checkRuntimeFiles } from "../detect/check-runtime-files.js";
import { assessChange, decide } from "../policy/assess-change.js";
import { chooseFormat } from "./choose-format.js";
import { EVALUATION_FORMATS, renderEvaluation } from "./evaluation-formats.js";
import { EXIT, type CliIo } from "./io.js";
import { parseOptions, usageOf } from "./parse-options.js";
import { gitRepository } from "./repository-option.js";
import { readSnapshot } from "./snapshot-file.js";

const EVALUATE_HELP = `Usage: charter evaluate --base REF --head REF --pr SNAPSHOT.json [--format text|json] [--root DIR]

Decides a pull request offline, with the same core as the GitHub App: the agents changed
between two commits of a local clone, the policy in .github/charter.yml at --base (or the
default), and the pull request's reviews, commits and check runs from a snapshot of GitHub's
own REST answers (schemas/pull-request-snapshot.schema.json; docs/policy.md shows how to write
one with gh). Use it to test a policy change against past pull requests.

  --base REF      the pull request's base (its merge base with the target branch)
  --head REF      the pull request's head commit
  --pr FILE       the snapshot
  --format        text (default) or json: { decision, base, head, policy, emergency, changeSet, approvers, rules, errors }
  --root DIR      repository root (default: the nearest directory holding .git)

Exit status: 0 approved, 1 pending, blocked or invalid, 2 usage or internal error.
`;

export async function evaluateCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(
    {
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: {
        base: { type: "string" },
        head: { type: "string" },
        pr: { type: "string" },
        format: { type: "string", default: "text" },
        root: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    },
    EVALUATE_HELP,
  );
  if (values.help) {
    io.out(EVALUATE_HELP);
    return EXIT.ok;
  }
  const format = chooseFormat(values.format, EVALUATION_FORMATS);
  for (const name of ["base", "head", "pr"] as const) {
    if (values[name] === undefined) throw new CharterError("USAGE", `missing --${name}`, { hint: `${usageOf(EVALUATE_HELP)}\nRun charter evaluate --help for every option.` });
  }
  const root = await gitRepository(io.cwd, values.root, "--root");
  const snapshotPath = values.pr ?? "";
  const snapshot = readSnapshot(resolve(io.cwd, snapshotPath), snapshotPath);
  if ("diagnostics" in snapshot) {
    for (const d of snapshot.diagnostics) io.err(`${d.file}:${d.line}:${d.column}  ${d.rule}  ${d.message}\n`);
    throw new CharterError("USAGE", `${snapshotPath} is not a valid pull request snapshot`, { hint: "See schemas/pull-request-snapshot.schema.json." });
  }

  const facts = pullFactsFromRest(snapshot.facts);
  return withCommitPair(root, values.base ?? "", values.head ?? "", async ({ base, head, paths }) => {
    if (facts.headSha !== head.commit) {
      io.err(`charter: warning: the snapshot's head is ${facts.headSha.slice(0, 12)} but --head is ${head.commit.slice(0, 12)}; approvals are judged against the snapshot's head\n`);
    }
    // Every agent identity at base and at head, not only the changed agents': none may approve.
    const cache = new IdentityCache();
    const [assessment, atBase, atHead] = await Promise.all([assessChange(base, head, paths, checkRuntimeFiles), inventoryIdentitiesAt(base, cache), inventoryIdentitiesAt(head, cache)]);
    const evaluation = decide(assessment, facts, [...new Set([...atBase, ...atHead])]);
    const errors = [...assessment.head.diagnostics, ...assessment.policyDiagnostics].filter((d) => d.severity === "error");
    io.out(renderEvaluation(evaluation, { base: base.commit, head: head.commit }, errors, format));
    return evaluation.decision === "approved" ? EXIT.ok : EXIT.findings;
  });
}
