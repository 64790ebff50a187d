import { desiredState } from "../provision/desired-state.js";
import { sync } from "../provision/engine.js";
import { chooseFormat } from "./choose-format.js";
import { EXIT, type CliIo } from "./io.js";
import { parseOptions } from "./parse-options.js";
import { PROVISIONING_FORMATS, renderSync } from "./provisioning-formats.js";
import { PROVISIONING_OPTIONS, PROVISIONING_OPTIONS_HELP, readProvisioningInput, withProviders } from "./provisioning-input.js";

const SYNC_HELP = `Usage: charter sync [--ref REV] [--prune] [--root DIR] [--format text|json]

Makes every configured provider hold exactly what the manifests approve: creates identities,
grants and revokes permissions, sets credential lifetimes, deprovisions retired agents (always)
and identities whose manifest was deleted (only with pruning). Then plans again to verify:
anything left over, and anything a sync must not touch, is escalated. The GitHub App does this
after every merge; run it by hand to repair or to bootstrap.

${PROVISIONING_OPTIONS_HELP}

Exit status: 0 converged, 1 incomplete or failed (the escalations say what), 2 usage or
internal error.
`;

export async function syncCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOptions({ args: [...argv], allowPositionals: false, strict: true, options: PROVISIONING_OPTIONS }, SYNC_HELP);
  if (values.help) {
    io.out(SYNC_HELP);
    return EXIT.ok;
  }
  const format = chooseFormat(values.format, PROVISIONING_FORMATS);
  const input = await readProvisioningInput(io.cwd, values);
  const result = await withProviders(input.settings, { access: "write", catalog: input.catalog }, (providers) =>
    sync(providers, desiredState(input.agents, input.commit, providers), { prune: values.prune === true || input.settings.prune }),
  );
  io.out(renderSync(result, format));
  return result.outcome === "converged" ? EXIT.ok : EXIT.findings;
}
