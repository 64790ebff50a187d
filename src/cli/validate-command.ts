import { existsSync } from "node:fs";
import { join } from "node:path";
import { CharterError, isCharterError } from "../errors.js";
import { findManifests } from "../fs/find-manifests.js";
import { WorkingTreeReader } from "../fs/working-tree-reader.js";
import { validateManifests } from "../manifest/validate.js";
import { EXIT, type CliIo } from "./io.js";
import { chooseFormat } from "./choose-format.js";
import { parseOptions } from "./parse-options.js";
import { workingRoot } from "./repository-option.js";
import { renderValidation, VALIDATION_FORMATS } from "./validation-formats.js";

const VALIDATE_HELP = `Usage: charter validate [PATH...] [--format text|json|github] [--root DIR]

Validates agent manifests against schemas/agent-manifest.schema.json and Charter's lints:
ids match their directory, prompt files exist inside the agent's directory, model versions are
pinned, permissions parse and are not wildcards, retired agents hold no permissions, no secrets.

  PATH            manifest files or directories to search (default: <root>/agents)
  --format        text (default): file:line:col  rule  message
                  json: { ok, agentsChecked, filesChecked, errors[], warnings[] }
                  github: workflow commands that GitHub Actions shows as annotations
  --root DIR      repository root (default: the nearest directory holding .git)

Exit status: 0 valid, 1 invalid, 2 usage or internal error.
`;

export async function validateCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions(
    {
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        format: { type: "string", default: "text" },
        root: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    },
    VALIDATE_HELP,
  );
  if (values.help) {
    io.out(VALIDATE_HELP);
    return EXIT.ok;
  }
  const format = chooseFormat(values.format, VALIDATION_FORMATS);
  const root = workingRoot(io.cwd, values.root, "--root");
  const files = manifestsToValidate(root, positionals, io.cwd, values.root === undefined);
  const report = await validateManifests(files, new WorkingTreeReader(root));
  io.out(renderValidation(report, format));
  return report.ok ? EXIT.ok : EXIT.findings;
}

/** The manifests to read; outside any repository, the default agents/ missing says where it was looked for. */
function manifestsToValidate(root: string, paths: readonly string[], cwd: string, rootGuessed: boolean): string[] {
  try {
    return findManifests(root, paths, cwd);
  } catch (error) {
    if (!isCharterError(error) || error.code !== "NOT_FOUND" || paths.length > 0 || !rootGuessed || existsSync(join(root, ".git"))) throw error;
    throw new CharterError("NOT_FOUND", `${root} is not inside a git repository and has no agents/ directory`, {
      hint: "Run charter validate inside the repository, pass --root DIR, or name the manifest files.",
    });
  }
}
