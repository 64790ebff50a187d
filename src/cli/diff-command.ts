import { CharterError } from "../errors.js";
import { withCommitPair } from "../git/commit-pair.js";
import { classifyChange } from "../policy/assess-change.js";
import { chooseFormat } from "./choose-format.js";
import { DIFF_FORMATS, renderDiff } from "./diff-formats.js";
import { EXIT, type CliIo } from "./io.js";
import { parseOptions, usageOf } from "./parse-options.js";
import { gitRepository } from "./repository-option.js";

const DIFF_HELP = `Usage: charter diff --base REF [--head REF] [--format text|json] [--root DIR]

Says what really changed for each agent between two commits: model, prompts (by content),
tools, permissions (added, removed, widened, narrowed), owners, credentials, data
classifications, environment, labels, runtime, each with a risk level; and which governance
files changed (approval policy, schemas, CODEOWNERS, CI workflows). Reads git history only: the
working tree and uncommitted changes are ignored.

  --base REF      the commit to compare against (branch, tag or SHA); for a pull request's view
                  pass the merge base: --base $(git merge-base main HEAD)
  --head REF      the commit with the changes (default: HEAD)
  --format        text (default): agent  kind  risk  summary, one change per line
                  json: { base, head, changeSet, errors }
  --root DIR      repository root (default: the nearest directory holding .git)

Exit status: 0 diff computed (with or without changes), 1 a changed agent's manifest is invalid
at head, 2 usage or internal error (such as an unknown revision).
`;

export async function diffCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOptions(
    {
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: {
        base: { type: "string" },
        head: { type: "string", default: "HEAD" },
        format: { type: "string", default: "text" },
        root: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    },
    DIFF_HELP,
  );
  if (values.help) {
    io.out(DIFF_HELP);
    return EXIT.ok;
  }
  const format = chooseFormat(values.format, DIFF_FORMATS);
  if (values.base === undefined) {
    throw new CharterError("USAGE", "missing --base", { hint: `${usageOf(DIFF_HELP)}\nPass the commit to compare against, e.g. charter diff --base main.` });
  }
  const root = await gitRepository(io.cwd, values.root, "--root");

  const baseRef = values.base;
  return withCommitPair(root, baseRef, values.head, async ({ base, head, paths }) => {
    const { changeSet, head: headReport } = await classifyChange(base, head, paths);
    const errors = headReport.diagnostics.filter((d) => d.severity === "error");
    io.out(renderDiff({ base: { ref: baseRef, commit: base.commit }, head: { ref: values.head, commit: head.commit }, changeSet, errors, pathsChanged: paths.length }, format));
    return errors.length > 0 ? EXIT.findings : EXIT.ok;
  });
}
