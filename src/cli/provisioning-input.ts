import { existsSync } from "node:fs";
import { CharterError } from "../errors.js";
import { findManifests } from "../fs/find-manifests.js";
import { WorkingTreeReader } from "../fs/working-tree-reader.js";
import { CommitReader, resolveCommit } from "../git/commit-reader.js";
import { gitOutput, splitNul } from "../git/run-git.js";
import { DEFAULT_LIMITS } from "../manifest/limits.js";
import { MANIFEST_FILE_NAMES } from "../manifest/lints/location.js";
import type { RepoReader } from "../manifest/repo-reader.js";
import { type CheckedAgent, validateManifests } from "../manifest/validate.js";
import type { CharterPolicy } from "../schema-types/charter-policy.generated.js";
import { parsePolicy } from "../policy/load-policy.js";
import { AGENTS_DIRECTORY, CATALOG_PATH, POLICY_PATH } from "../change/governed-paths.js";
import { catalogForSync, MAX_CATALOG_BYTES, ResourceCatalog } from "../trail/resource-catalog.js";
import { closeProviders, type OpenOptions, openProviders } from "../providers/open-providers.js";
import { providerSecrets, provisioningSettings, type ProvisioningSettings } from "../provision/config.js";
import type { Provider } from "../provision/provider.js";
import { gitRepository, workingRoot } from "./repository-option.js";

/** Options shared by plan, sync and drift. */
export const PROVISIONING_OPTIONS = {
  root: { type: "string" },
  ref: { type: "string" },
  prune: { type: "boolean" },
  format: { type: "string", default: "text" },
  help: { type: "boolean", short: "h" },
} as const;

export const PROVISIONING_OPTIONS_HELP = `  --ref REV       read manifests and .github/charter.yml at this commit (default: the working
                  tree, recorded against HEAD)
  --prune         deprovision identities whose manifest was deleted, whatever the policy says
  --root DIR      repository root (default: the nearest directory holding .git)
  --format        text (default) or json

Secrets come from the environment: CHARTER_LOCAL_DB (the local registry's SQLite file) and
CHARTER_POSTGRES_URL_<INSTANCE> per PostgreSQL instance (see docs/providers.md).`;

export interface ProvisioningInput {
  readonly root: string;
  /** The commit the approved state is attributed to. */
  readonly commit: string;
  readonly agents: readonly CheckedAgent[];
  readonly settings: ProvisioningSettings;
  /** The resource catalog at the same commit (or in the working tree): what object auditing covers. */
  readonly catalog: ResourceCatalog;
}

/**
 * Reads what provisioning needs from a clone: the manifests and the policy, at a commit or in
 * the working tree. Invalid manifests stop here: provisioning never applies a state that
 * `charter validate` rejects.
 */
export async function readProvisioningInput(cwd: string, options: { root?: string | undefined; ref?: string | undefined }): Promise<ProvisioningInput> {
  const root = await gitRepository(cwd, options.root, "--root");
  if (options.ref !== undefined) {
    const reader = await CommitReader.open(root, options.ref);
    try {
      return await readWith(root, reader.commit, reader, await manifestsAt(root, reader.commit));
    } finally {
      await reader.close();
    }
  }
  const commit = await resolveCommit(root, "HEAD");
  return readWith(root, commit, new WorkingTreeReader(root), findManifests(root, [], root));
}

async function readWith(root: string, commit: string, reader: RepoReader, files: readonly string[]): Promise<ProvisioningInput> {
  const report = await validateManifests(files, reader);
  const errors = report.diagnostics.filter((d) => d.severity === "error");
  const first = errors[0];
  if (first !== undefined) {
    throw new CharterError("INVALID_CONFIG", `${errors.length} manifest error${errors.length === 1 ? "" : "s"}, first ${first.file}:${first.line}:${first.column} ${first.rule}: ${first.message}`, {
      hint: "Run charter validate and fix the manifests; provisioning only applies valid ones.",
    });
  }
  return { root, commit, agents: report.agents, settings: provisioningSettings(await readPolicy(reader)), catalog: await readCatalog(reader) };
}

/** The resource catalog; absent, it classifies nothing. An invalid one stops provisioning like an invalid policy. */
async function readCatalog(reader: RepoReader): Promise<ResourceCatalog> {
  const entry = (await reader.read([CATALOG_PATH], MAX_CATALOG_BYTES)).get(CATALOG_PATH);
  if (entry === undefined || entry.kind === "missing") return ResourceCatalog.empty();
  if (entry.kind !== "file") throw new CharterError("INVALID_CONFIG", `${CATALOG_PATH} is not a readable file`, { hint: "Commit the resource catalog as one small UTF-8 YAML file." });
  return catalogForSync(entry.bytes);
}

/** Only the provisioning settings, from the working tree's policy: for commands that read no manifests. */
export async function readWorkingTreeSettings(cwd: string, rootOption: string | undefined): Promise<ProvisioningSettings> {
  const root = workingRoot(cwd, rootOption, "--root");
  return provisioningSettings(await readPolicy(new WorkingTreeReader(root)));
}

async function readPolicy(reader: RepoReader): Promise<CharterPolicy | undefined> {
  const entry = (await reader.read([POLICY_PATH], DEFAULT_LIMITS.maxManifestBytes)).get(POLICY_PATH);
  if (entry === undefined || entry.kind === "missing") return undefined;
  if (entry.kind !== "file") throw new CharterError("INVALID_CONFIG", `${POLICY_PATH} is not a readable file`, { hint: "Commit it as a small UTF-8 YAML file." });
  const parsed = parsePolicy(entry.bytes);
  if (parsed.ok) return parsed.policy;
  const d = parsed.diagnostics[0];
  throw new CharterError("INVALID_CONFIG", `${POLICY_PATH}${d ? `:${d.line}:${d.column} ${d.message}` : " is invalid"}`, { hint: d?.fix || "Fix the policy file; provisioning reads its provisioning section." });
}

/** agents/<id>/agent.yaml paths in a commit's tree. */
async function manifestsAt(root: string, commit: string): Promise<string[]> {
  const paths = splitNul(await gitOutput(root, ["ls-tree", "-r", "-z", "--name-only", "--full-tree", commit, "--", `${AGENTS_DIRECTORY}/`]));
  return paths.filter((p) => {
    const parts = p.split("/");
    return parts.length === 3 && MANIFEST_FILE_NAMES.includes(parts[2] ?? "");
  }).sort();
}

/**
 * Opens the configured providers from the process environment, runs `use`, and closes them
 * whatever happens. Read-only commands (plan, drift) open them for reading: they create nothing.
 */
export async function withProviders<T>(settings: ProvisioningSettings, options: Omit<OpenOptions, "now">, use: (providers: readonly Provider[]) => Promise<T>): Promise<T> {
  const providers = openProviders(settings, providerSecrets(settings, process.env), options);
  try {
    return await use(providers);
  } finally {
    await closeProviders(providers);
  }
}

/** The configured local registry's path when the file does not exist yet (nothing has synced there). */
export function missingLocalRegistry(settings: ProvisioningSettings): string | undefined {
  const path = settings.local.enabled ? providerSecrets(settings, process.env).localDatabasePath : undefined;
  return path !== undefined && !existsSync(path) ? path : undefined;
}
