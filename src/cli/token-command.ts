import { parseArgs } from "node:util";
import { CharterError } from "../errors.js";
import { parseDuration } from "../manifest/duration.js";
import { issueToken, jwks, LocalRegistry, loadSigningKey } from "../providers/local/index.js";
import { PROVISIONING_ENV, providerSecrets } from "../provision/config.js";
import { EXIT, type CliIo } from "./io.js";
import { chooseFormat } from "./choose-format.js";
import { readWorkingTreeSettings } from "./provisioning-input.js";

export const TOKEN_HELP = `Usage: charter token issue AGENT [--ttl DURATION] [--format text|json] [--root DIR]
       charter token jwks [--root DIR]

issue   prints a short-lived token for a provisioned agent on standard output, and nothing else:
        an Ed25519-signed JWT whose claims carry the agent id (sub), the hash of the manifest
        that approved it, its exact permissions, iat, exp and jti. It lives for the manifest's
        credentials.maxLifetime; --ttl (e.g. 15m) may only shorten that. The token is a
        secret: pass it to the agent, never log it.
        --format json prints { token, claims } instead.
jwks    prints the JSON Web Key Set tool gateways verify tokens with.

Reads ${PROVISIONING_ENV.localDatabase} (the local registry, filled by charter sync) and
${PROVISIONING_ENV.signingKey} (an Ed25519 private key in PEM; openssl genpkey -algorithm ed25519).
The issuer claim comes from provisioning.providers.local.issuer in .github/charter.yml.

Exit status: 0 printed, 2 usage error, unknown or retired agent, a --ttl above the limit, or
missing configuration.
`;

const ISSUE_FORMATS = ["text", "json"] as const;

export async function tokenCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    io.out(TOKEN_HELP);
    return sub === undefined ? EXIT.error : EXIT.ok;
  }
  if (sub !== "issue" && sub !== "jwks") throw new CharterError("USAGE", `unknown token command "${sub}"`, { hint: "Use charter token issue AGENT or charter token jwks." });
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: sub === "issue",
    strict: true,
    options: { ttl: { type: "string" }, format: { type: "string", default: "text" }, root: { type: "string" } },
  });
  const settings = await readWorkingTreeSettings(io.cwd, values.root);
  const secrets = providerSecrets(settings, process.env);
  if (sub === "jwks") {
    io.out(JSON.stringify(jwks(loadSigningKey(secrets.signingKeyPem)), null, 2) + "\n");
    return EXIT.ok;
  }

  const format = chooseFormat(values.format, ISSUE_FORMATS);
  const [agent, extra] = positionals;
  if (agent === undefined || extra !== undefined) throw new CharterError("USAGE", "charter token issue takes exactly one agent id", { hint: "Run charter token issue AGENT [--ttl 15m]." });
  let ttlSeconds: number | undefined;
  if (values.ttl !== undefined) {
    ttlSeconds = parseDuration(values.ttl);
    if (ttlSeconds === undefined) throw new CharterError("USAGE", `--ttl "${values.ttl}" is not a duration`, { hint: "Write a whole number with s, m, h or d, e.g. 15m." });
  }
  if (!settings.local.enabled) {
    throw new CharterError("INVALID_CONFIG", "the local provider is disabled in .github/charter.yml", { hint: "Tokens come from the local provider; enable provisioning.providers.local." });
  }
  if (secrets.localDatabasePath === undefined) {
    throw new CharterError("MISSING_SECRET", `${PROVISIONING_ENV.localDatabase} is not set`, { hint: `Set ${PROVISIONING_ENV.localDatabase} to the local registry's SQLite file, as used by charter sync.` });
  }
  const key = loadSigningKey(secrets.signingKeyPem);
  const registry = LocalRegistry.open(secrets.localDatabasePath);
  try {
    const issued = issueToken(registry, key, agent, { issuer: settings.local.issuer, ...(ttlSeconds === undefined ? {} : { ttlSeconds }) });
    io.out(format === "json" ? JSON.stringify({ token: issued.token, claims: issued.claims }, null, 2) + "\n" : `${issued.token}\n`);
  } finally {
    registry.close();
  }
  return EXIT.ok;
}
