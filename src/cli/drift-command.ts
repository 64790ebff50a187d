import { desiredState } from "../provision/desired-state.js";
import { detectDrift } from "../provision/engine.js";
import { chooseFormat } from "./choose-format.js";
import { EXIT, type CliIo } from "./io.js";
import { parseOptions } from "./parse-options.js";
import { PROVISIONING_FORMATS, renderDrift } from "./provisioning-formats.js";
import { PROVISIONING_OPTIONS, PROVISIONING_OPTIONS_HELP, readProvisioningInput, withProviders } from "./provisioning-input.js";

const DRIFT_HELP = `Usage: charter drift [--ref REV] [--prune] [--root DIR] [--format text|json]

Compares what the configured providers hold with what the manifests approve, and reports every
difference: missing identities or grants, extra grants, changed lifetimes, retired agents that
still have access, identities without Charter's ownership marker, orphaned identities, grants
made by someone else. On PostgreSQL it compares each agent's effective privileges: through its
leases, the roles it reaches, the marker role and PUBLIC, with ownership, default privileges and
role attributes; each finding names its grantor, the path (via) and, where Charter may not
remove it, the statement that does (fix). Changes nothing and creates nothing: a local registry
that does not exist is an error (a mistyped CHARTER_LOCAL_DB must not read as an empty registry).

${PROVISIONING_OPTIONS_HELP}

Exit status: 0 no drift, 1 drift found, 2 usage error or the check did not run (a provider that
cannot be read, a missing secret or registry), so that a scheduler can tell "look at this" from
"the check did not run".
`;

export async function driftCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOptions({ args: [...argv], allowPositionals: false, strict: true, options: PROVISIONING_OPTIONS }, DRIFT_HELP);
  if (values.help) {
    io.out(DRIFT_HELP);
    return EXIT.ok;
  }
  const format = chooseFormat(values.format, PROVISIONING_FORMATS);
  const input = await readProvisioningInput(io.cwd, values);
  const findings = await withProviders(input.settings, { access: "read", catalog: input.catalog }, (providers) =>
    detectDrift(providers, desiredState(input.agents, input.commit, providers), { prune: values.prune === true || input.settings.prune }),
  );
  io.out(renderDrift(findings, input.commit, format));
  return findings.length === 0 ? EXIT.ok : EXIT.findings;
}
