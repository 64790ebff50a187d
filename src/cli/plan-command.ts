import { parseArgs } from "node:util";
import { desiredState } from "../provision/desired-state.js";
import { planSync } from "../provision/engine.js";
import { chooseFormat } from "./choose-format.js";
import { EXIT, type CliIo } from "./io.js";
import { PROVISIONING_FORMATS, renderPlan } from "./provisioning-formats.js";
import { PROVISIONING_OPTIONS, PROVISIONING_OPTIONS_HELP, readProvisioningInput, withProviders } from "./provisioning-input.js";

export const PLAN_HELP = `Usage: charter plan [--ref REV] [--prune] [--root DIR] [--format text|json]

Shows what charter sync would do: for each configured provider, the operations that make it
hold exactly what the manifests approve, and the findings a sync leaves for a person (identities
without Charter's ownership marker, grants made by others, orphaned identities, permissions no
provider enforces). Reads the providers, changes nothing.

${PROVISIONING_OPTIONS_HELP}

Exit status: 0 planned, 2 usage or internal error.
`;

export async function planCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: [...argv], allowPositionals: false, strict: true, options: PROVISIONING_OPTIONS });
  if (values.help) {
    io.out(PLAN_HELP);
    return EXIT.ok;
  }
  const format = chooseFormat(values.format, PROVISIONING_FORMATS);
  const input = await readProvisioningInput(io.cwd, values);
  const plan = await withProviders(input.settings, (providers) =>
    planSync(providers, desiredState(input.agents, input.commit, providers), { prune: values.prune === true || input.settings.prune }),
  );
  io.out(renderPlan(plan, input.commit, format));
  return EXIT.ok;
}
