import { desiredState } from "../provision/desired-state.js";
import { planSync } from "../provision/engine.js";
import { chooseFormat } from "./choose-format.js";
import { EXIT, type CliIo } from "./io.js";
import { parseOptions } from "./parse-options.js";
import { PROVISIONING_FORMATS, renderPlan } from "./provisioning-formats.js";
import { missingLocalRegistry, PROVISIONING_OPTIONS, PROVISIONING_OPTIONS_HELP, readProvisioningInput, withProviders } from "./provisioning-input.js";

const PLAN_HELP = `Usage: charter plan [--ref REV] [--prune] [--root DIR] [--format text|json]

Shows what charter sync would do: for each configured provider, the operations that make it
hold exactly what the manifests approve, and the findings a sync leaves for a person (identities
without Charter's ownership marker, grants made by others, orphaned identities, permissions no
provider enforces). Reads the providers, changes nothing and creates nothing: a local registry
that does not exist yet is planned as empty, and said so on stderr.

${PROVISIONING_OPTIONS_HELP}

Exit status: 0 planned, 2 usage or internal error.
`;

export async function planCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOptions({ args: [...argv], allowPositionals: false, strict: true, options: PROVISIONING_OPTIONS }, PLAN_HELP);
  if (values.help) {
    io.out(PLAN_HELP);
    return EXIT.ok;
  }
  const format = chooseFormat(values.format, PROVISIONING_FORMATS);
  const input = await readProvisioningInput(io.cwd, values);
  const missing = missingLocalRegistry(input.settings);
  if (missing !== undefined) io.err(`charter: the local registry ${missing} does not exist yet: planned as if it were empty (charter sync creates it)\n`);
  const plan = await withProviders(input.settings, { access: "read", missing: "empty", catalog: input.catalog }, (providers) =>
    planSync(providers, desiredState(input.agents, input.commit, providers), { prune: values.prune === true || input.settings.prune }),
  );
  io.out(renderPlan(plan, input.commit, format));
  return EXIT.ok;
}
