import { parseArgs } from "node:util";
import { findManifests, findRepositoryRoot } from "../fs/find-manifests.js";
import { WorkingTreeReader } from "../fs/working-tree-reader.js";
import { validateManifests } from "../manifest/validate.js";
import { EXIT, type CliIo } from "./io.js";
import { chooseFormat } from "./choose-format.js";
import { renderValidation, VALIDATION_FORMATS } from "./validation-formats.js";

export const VALIDATE_HELP = `Usage: charter validate [PATH...] [--format text|json|github] [--root DIR]

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
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      format: { type: "string", default: "text" },
      root: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    io.out(VALIDATE_HELP);
    return EXIT.ok;
  }
  const format = chooseFormat(values.format, VALIDATION_FORMATS);
  const root = values.root === undefined ? findRepositoryRoot(io.cwd) : values.root;
  const files = findManifests(root, positionals, io.cwd);
  const report = await validateManifests(files, new WorkingTreeReader(root));
  io.out(renderValidation(report, format));
  return report.ok ? EXIT.ok : EXIT.findings;
}
