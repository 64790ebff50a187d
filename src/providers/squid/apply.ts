import { open, rename, stat, unlink } from "node:fs/promises";
import type { ProvisioningOperation } from "../../schema-types/evidence-record.generated.js";
import type { PlannedOperation } from "../../provision/provider.js";
import { sha256 } from "./diff.js";
import { readIfPresent, runProgram, temporaryPath, writeAtomically, writeNew } from "./files.js";
import { isSafeAgentId, parseLeaseUser } from "./names.js";
import { configPaths, type SquidSettings } from "./render.js";
import { encodeState, type IdentityMarker, type LeaseRecord, parseState } from "./state.js";
import { isStep, type Step } from "./steps.js";

export interface ApplyContext {
  readonly instance: string;
  readonly settings: SquidSettings;
  /** The squid binary, for -k parse and -k reconfigure. */
  readonly program: string;
}

class StepFailure extends Error {}

/**
 * Performs a plan. Password and state changes are made in memory and written once, each file
 * atomically; then a new configuration is written beside the old one, checked with
 * `squid -k parse`, renamed over it and loaded with `squid -k reconfigure`, which re-reads the
 * file without closing the connections in flight. A configuration squid rejects is never put in
 * place: the running proxy keeps the previous one.
 */
export async function applySquid(ctx: ApplyContext, operations: readonly PlannedOperation[]): Promise<ProvisioningOperation[]> {
  const paths = configPaths(ctx.settings.directory);
  const state = parseState(await readIfPresent(paths.state));
  const identities = new Map<string, IdentityMarker>(state.identities);
  const leases = new Map<string, LeaseRecord>(state.leases);
  let lines = (await readIfPresent(paths.passwords) ?? "").split("\n").filter((l) => l.trim() !== "");
  const revoked = new Map<string, number>(state.revoked);
  let written = state.written;
  let loaded = state.loaded;
  const statuses = new Map<PlannedOperation, string | undefined>();
  const configSteps: [PlannedOperation, Step][] = [];

  for (const op of operations) {
    const step = op.payload;
    if (!isStep(step)) {
      statuses.set(op, "not a squid provider step");
      continue;
    }
    switch (step.type) {
      case "set-marker":
        if (!isSafeAgentId(step.marker.agent)) statuses.set(op, "not an agent id");
        else identities.set(step.marker.agent, step.marker);
        break;
      case "drop-password":
        lines = step.user === "" ? lines.filter((l) => l.indexOf(":") > 0) : lines.filter((l) => l.slice(0, l.indexOf(":")) !== step.user);
        if (step.lease !== undefined) leases.delete(step.lease);
        if (step.revokeUntil !== undefined) revoked.set(step.user, step.revokeUntil);
        break;
      case "forget-revoked":
        for (const user of step.users) revoked.delete(user);
        break;
      case "drop-identity":
        identities.delete(step.agent);
        for (const [id, lease] of leases) if (lease.agent === step.agent) leases.delete(id);
        lines = lines.filter((l) => parseLeaseUser(l.slice(0, Math.max(0, l.indexOf(":"))))?.agent !== step.agent);
        break;
      case "write-config":
      case "reload":
        configSteps.push([op, step]);
    }
  }
  const saveState = (): Promise<void> => writeAtomically(paths.state, encodeState({ identities, leases, written, loaded, revoked }));

  try {
    await writeAtomically(paths.passwords, lines.map((l) => `${l}\n`).join(""), { newMtime: true });
    await saveState();
  } catch (error) {
    const reason = `could not write ${paths.passwords} or ${paths.state}: ${message(error)}`;
    for (const op of operations) if (!statuses.has(op)) statuses.set(op, reason);
  }

  for (const [op, step] of configSteps) {
    if (statuses.has(op)) continue;
    try {
      if (step.type === "write-config") {
        await installConfig(ctx, step.config);
        written = sha256(step.config);
        await saveState();
      }
      await reconfigure(ctx);
      loaded = written;
      await saveState();
      statuses.set(op, undefined);
    } catch (error) {
      statuses.set(op, message(error));
    }
  }
  return operations.map((op) => {
    const { payload: _payload, ...record } = op;
    const error = statuses.get(op);
    return { ...record, status: error === undefined ? "applied" : "failed", ...(error === undefined ? {} : { error }) };
  });
}

async function installConfig(ctx: ApplyContext, config: string): Promise<void> {
  const { config: target } = configPaths(ctx.settings.directory);
  const candidate = temporaryPath(target);
  await writeNew(candidate, config);
  try {
    const parsed = await runProgram(ctx.program, ["-k", "parse", "-f", candidate]);
    // squid 5's -k parse exits 0 after a FATAL helper error or a regular expression it skipped: its report is what counts.
    if (parsed.code !== 0 || /FATAL|ERROR|WARNING|Warning: empty ACL/.test(parsed.output)) {
      throw new StepFailure(
        `squid@${ctx.instance} rejected the rendered configuration, which was not installed (the proxy keeps its previous one): ${complaints(parsed.output)}. Check that ${ctx.program} is squid 5 and that ${ctx.settings.authProgram} exists; run ${ctx.program} -k parse -f ${target} to see the whole report`,
      );
    }
    await rename(candidate, target);
  } finally {
    await unlink(candidate).catch(() => undefined);
  }
}

/** How long squid may take to listen again after a reload before the step is reported failed. */
const RELOAD_TIMEOUT_MS = 30_000;

/**
 * squid 5 re-reads its configuration on -k reconfigure without closing the connections it
 * serves, but it closes and reopens its listening port: the step ends once cache.log says it
 * accepts connections again, so that a sync returns with the new rules in force.
 */
async function reconfigure(ctx: ApplyContext): Promise<void> {
  const { config, pidFile, cacheLog } = configPaths(ctx.settings.directory);
  const from = await sizeOf(cacheLog);
  const result = await runProgram(ctx.program, ["-k", "reconfigure", "-f", config]);
  if (result.code !== 0) {
    throw new StepFailure(
      `squid@${ctx.instance} could not be told to reload (${complaints(result.output)}): start squid with ${ctx.program} -f ${config} (its pid file is ${pidFile}); the next sync reloads it`,
    );
  }
  const deadline = Date.now() + RELOAD_TIMEOUT_MS;
  for (;;) {
    const log = await readFrom(cacheLog, from);
    if (/Accepting HTTP Socket connections/.test(log)) return;
    if (/FATAL|Terminated abnormally/.test(log)) throw new StepFailure(`squid@${ctx.instance} failed while reloading: ${complaints(log)} (see ${cacheLog})`);
    if (Date.now() > deadline) throw new StepFailure(`squid@${ctx.instance} did not accept connections within ${RELOAD_TIMEOUT_MS / 1000} s of the reload (see ${cacheLog})`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function readFrom(path: string, offset: number): Promise<string> {
  const handle = await open(path, "r").catch(() => undefined);
  if (handle === undefined) return "";
  try {
    const { size } = await handle.stat();
    // A rotated (shorter) cache.log is read from its start.
    const start = size < offset ? 0 : offset;
    const length = Math.min(size - start, 1024 * 1024);
    const buffer = Buffer.alloc(Math.max(0, length));
    await handle.read(buffer, 0, buffer.length, start);
    return buffer.toString("utf8");
  } finally {
    await handle.close();
  }
}

/** The lines of squid's output that say what is wrong, without the start-up chatter. */
function complaints(output: string): string {
  const lines = output.split("\n").map((l) => l.replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d\|\s*/, "").trim());
  const bad = lines.filter((l) => /FATAL|ERROR|unrecognized|Bungled|No running copy|not found|cannot|No such file/i.test(l));
  const chosen = (bad.length > 0 ? bad : lines.filter((l) => l !== "")).slice(0, 4);
  return chosen.join(" / ") || "no output";
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
