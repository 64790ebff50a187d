import { existsSync } from "node:fs";
import { CharterError } from "../errors.js";
import { parseDuration } from "../manifest/duration.js";
import { GITHUB_TOKEN_LIFETIME_SECONDS } from "../providers/github/index.js";
import { issueToken, jwks, LocalRegistry, loadSigningKey } from "../providers/local/index.js";
import { PROVISIONING_ENV, type ProviderSecrets, providerSecrets, type ProvisioningSettings } from "../provision/config.js";
import { EXIT, type CliIo } from "./io.js";
import { parseOptions } from "./parse-options.js";
import { chooseFormat } from "./choose-format.js";
import { readWorkingTreeSettings } from "./provisioning-input.js";
import { issueRecordedGithubTokens } from "../sources/issue-recorded-github-tokens.js";
import { TrailContext } from "../sources/trail-context.js";
import { TrailIngestor } from "../sources/trail-ingestor.js";
import { withStore } from "./trail-command.js";

const TOKEN_HELP = `Usage: charter token issue AGENT [--ttl DURATION] [--format text|json] [--root DIR]
       charter token issue AGENT --github [--repo OWNER/REPO] [--format text|json] [--root DIR]
       charter token jwks [--root DIR]

issue   prints a short-lived token for a provisioned agent on standard output, and nothing else:
        an Ed25519-signed JWT whose claims carry the agent id (sub), the hash of the manifest
        that approved it, its exact permissions, iat, exp and jti. It lives for the manifest's
        credentials.maxLifetime; --ttl (e.g. 15m) may only shorten that. The token is a
        secret: pass it to the agent, never log it.
        --format json prints { token, claims } instead.
        --github mints GitHub installation access tokens instead, limited to exactly the
        repositories and permissions of the agent's github permissions: one token per owner and
        permission set (--format json prints them all as { tokens: [...] }; text prints the one
        token, and --repo picks it when there are several). They live GitHub's one hour, so an
        agent whose maxLifetime is shorter is refused. Needs provisioning.providers.github,
        APP_ID and PRIVATE_KEY (the app's), and CHARTER_GITHUB_API_URL for GitHub Enterprise.
        Each token is recorded in the action trail (CHARTER_TRAIL_DB or DATABASE_URL) as a
        token-issued event with its id, scope and expiry, never the token, before it is printed.
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
  const { values, positionals } = parseOptions(
    {
      args: rest,
      allowPositionals: sub === "issue",
      strict: true,
      options: { ttl: { type: "string" }, format: { type: "string", default: "text" }, root: { type: "string" }, github: { type: "boolean", default: false }, repo: { type: "string" }, help: { type: "boolean", short: "h" } },
    },
    TOKEN_HELP,
  );
  if (values.help) {
    io.out(TOKEN_HELP);
    return EXIT.ok;
  }
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
  if (values.github) return issueGithub(agent, values.repo, ttlSeconds, format, settings, secrets, io);
  if (values.repo !== undefined) throw new CharterError("USAGE", "--repo goes with --github", { hint: "Run charter token issue AGENT --github --repo OWNER/REPO." });
  if (!settings.local.enabled) {
    throw new CharterError("INVALID_CONFIG", "the local provider is disabled in .github/charter.yml", { hint: "Tokens come from the local provider; enable provisioning.providers.local." });
  }
  if (secrets.localDatabasePath === undefined) {
    throw new CharterError("MISSING_SECRET", `${PROVISIONING_ENV.localDatabase} is not set`, { hint: `Set ${PROVISIONING_ENV.localDatabase} to the local registry's SQLite file, as used by charter sync.` });
  }
  const key = loadSigningKey(secrets.signingKeyPem);
  // Issuing writes the token's id to the registry; a registry that does not exist has no agents to issue for.
  if (!existsSync(secrets.localDatabasePath)) {
    throw new CharterError("NOT_FOUND", `the local registry ${secrets.localDatabasePath} does not exist`, { hint: `Check ${PROVISIONING_ENV.localDatabase}; charter sync creates the registry and provisions the agents.` });
  }
  const registry = LocalRegistry.open(secrets.localDatabasePath);
  try {
    const issued = issueToken(registry, key, agent, { issuer: settings.local.issuer, ...(ttlSeconds === undefined ? {} : { ttlSeconds }) });
    io.out(format === "json" ? JSON.stringify({ token: issued.token, claims: issued.claims }, null, 2) + "\n" : `${issued.token}\n`);
  } finally {
    registry.close();
  }
  return EXIT.ok;
}

async function issueGithub(
  agent: string,
  repo: string | undefined,
  ttlSeconds: number | undefined,
  format: (typeof ISSUE_FORMATS)[number],
  settings: ProvisioningSettings,
  secrets: ProviderSecrets,
  io: CliIo,
): Promise<number> {
  if (ttlSeconds !== undefined && ttlSeconds < GITHUB_TOKEN_LIFETIME_SECONDS) {
    throw new CharterError("OUT_OF_RANGE", `--ttl ${ttlSeconds}s is shorter than the one hour GitHub installation tokens live`, { hint: "GitHub cannot shorten an installation token; leave out --ttl." });
  }
  if (!settings.github.enabled) {
    throw new CharterError("INVALID_CONFIG", "the github provider is not enabled in .github/charter.yml", { hint: "Set provisioning.providers.github.enabled: true." });
  }
  for (const [name, value] of [[PROVISIONING_ENV.localDatabase, secrets.localDatabasePath], [PROVISIONING_ENV.githubAppId, secrets.githubAppId], [PROVISIONING_ENV.githubPrivateKey, secrets.githubPrivateKeyPem]] as const) {
    if (value === undefined) throw new CharterError("MISSING_SECRET", `${name} is not set`, { hint: `GitHub tokens are cut from the local registry's approved permissions with the app's credentials; set ${name}.` });
  }
  const registry = LocalRegistry.open(secrets.localDatabasePath ?? "");
  try {
    // Each token goes on the trail (the store CHARTER_TRAIL_DB or DATABASE_URL names, as for charter trail) before it is printed.
    const tokens = await withStore(io, undefined, async (store) => {
      const context = new TrailContext();
      const ingestor = new TrailIngestor(store, () => context.current());
      try {
        return await issueRecordedGithubTokens(
          registry,
          ingestor,
          agent,
          { appId: secrets.githubAppId ?? "", privateKeyPem: secrets.githubPrivateKeyPem ?? "", apiUrl: secrets.githubApiUrl },
          { single: format === "text", ...(repo === undefined ? {} : { repository: repo }) },
        );
      } finally {
        await ingestor.close();
      }
    });
    if (format === "json") {
      const out = tokens.map((t) => ({ token: t.token, owner: t.owner, repositories: t.repositories, permissions: t.permissions, expiresAt: t.expiresAt.toISOString() }));
      io.out(JSON.stringify({ tokens: out }, null, 2) + "\n");
      return EXIT.ok;
    }
    io.out(tokens.map((t) => `${t.token}\n`).join(""));
    return EXIT.ok;
  } finally {
    registry.close();
  }
}
