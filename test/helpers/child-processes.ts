// The one way tests and the playground start a process that outlives a single call. Each child
// leads its own process group, so stopping it stops everything it started (tsx's node child, a
// server's workers, a shell's background job) instead of only the wrapper; every child still
// running when this process exits is killed with its group, so a test that fails or times out
// before its cleanup leaves nothing behind. What escapes even that (a daemon that left the group,
// like PostgreSQL's postmaster, or a runner killed outright) carries the run's marker and is
// caught by the global teardown (test/global-setup.ts) and by .ci/run.
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process";

export interface GroupChild {
  readonly child: ChildProcess;
  /** Resolves when the process has exited (with its code, or the signal that ended it). */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>;
  /** SIGTERM to the whole group, SIGKILL if it is not gone within `graceMs`; resolves once it is. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the whole group, as a crash would; resolves once the process is gone. */
  kill(): Promise<void>;
}

const running = new Set<ChildProcess>();
const exitCleanups = new Set<() => void>();
let hooked = false;

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once("exit", stopEverythingNow);
}

/**
 * Kills every group still running and runs every registered cleanup, synchronously: what the
 * exit hook does, exposed so that its effect can be tested.
 */
export function stopEverythingNow(): void {
  for (const child of running) signalGroup(child, "SIGKILL");
  running.clear();
  for (const cleanup of exitCleanups) {
    try {
      cleanup();
    } catch {
      // One failed cleanup must not keep the others from running.
    }
  }
  exitCleanups.clear();
}

/**
 * Runs `cleanup` (synchronously) when this process exits, unless it was released first: for
 * servers that run outside any group of ours (PostgreSQL's postmaster detaches from pg_ctl).
 * Returns the release function, to call once the normal cleanup has run.
 */
export function onProcessExit(cleanup: () => void): () => void {
  hookExit();
  exitCleanups.add(cleanup);
  return () => exitCleanups.delete(cleanup);
}

/** Starts `command` as the leader of a new process group, tracked until it exits. */
export function spawnGroup(command: string, args: readonly string[], options: SpawnOptions = {}): GroupChild {
  hookExit();
  // The marker reaches children whose environment is given whole, not inherited.
  const marker = process.env["CHARTER_TEST_RUN"];
  const env = options.env === undefined ? process.env : { ...options.env, ...(marker === undefined ? {} : { CHARTER_TEST_RUN: marker }) };
  const child = spawn(command, [...args], { ...options, env, detached: true });
  running.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      running.delete(child);
      // The leader is gone; whatever it started in its group goes with it.
      signalGroup(child, "SIGKILL");
      resolve({ code, signal });
    });
    child.once("error", () => {
      running.delete(child);
      resolve({ code: null, signal: null });
    });
  });
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null || !running.has(child);
  return {
    child,
    exited,
    async stop(graceMs = 10_000) {
      if (!gone()) {
        signalGroup(child, "SIGTERM");
        const timer = setTimeout(() => {
          signalGroup(child, "SIGKILL");
        }, graceMs);
        await exited;
        clearTimeout(timer);
      }
      await exited;
    },
    async kill() {
      if (!gone()) signalGroup(child, "SIGKILL");
      await exited;
    },
  };
}

export interface Completed {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command to completion in its own process group and collects its output; past
 * `timeoutMs` the whole group is killed and the promise rejects. Rejects on a non-zero exit
 * too, with the output, unless `allowFailure` is set.
 */
export async function runGroup(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { readonly timeoutMs: number; readonly allowFailure?: boolean },
): Promise<Completed> {
  const { timeoutMs, allowFailure, ...spawnOptions } = options;
  const run = spawnGroup(command, args, { ...spawnOptions, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  run.child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  run.child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  // An object, not a let: the compiler cannot see the timer's assignment and would call the check dead.
  const timeout = { hit: false };
  const timer = setTimeout(() => {
    timeout.hit = true;
    void run.kill();
  }, timeoutMs);
  const { code, signal } = await run.exited;
  clearTimeout(timer);
  const describe = `${command} ${args.join(" ")}`;
  if (timeout.hit) throw new Error(`${describe} did not finish within ${String(timeoutMs)} ms (killed with its process group)\n${stderr}`);
  if (code !== 0 && allowFailure !== true) throw new Error(`${describe} exited ${String(code ?? signal)}\n${stderr}`);
  return { code, signal, stdout, stderr };
}
