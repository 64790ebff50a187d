import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { GitHubSimulator } from "../github-sim/index.js";
import { spawnGroup } from "./child-processes.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const ENTRY = "test/helpers/charter-process.ts";
/** The child's loopback route that runs the app's scheduled work (see charter-process.ts). */
const SCHEDULE_TICK_PATH = "/schedule/tick";

export interface CharterProcess {
  /** The app's base URL; webhooks go to `${url}/api/github/webhooks`. */
  readonly url: string;
  readonly webhookUrl: string;
  readonly child: ChildProcess;
  /**
   * Runs the app's due scheduled work now (reconciliation, access review, drift) and waits for
   * it; tasks named in `force` run whatever their due time, as if their interval had passed.
   */
  tick(force?: readonly string[]): Promise<void>;
  /** SIGKILL, as a crash or an OOM killer would; resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM: running jobs finish and the queue is closed; SIGKILL if that takes longer than `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface CharterProcessOptions {
  /** The simulator's HTTP root (from sim.listen()), for the app's API calls. */
  readonly simUrl: string;
  /** The evidence ledger's signer key. */
  readonly signingKey: string;
  /**
   * The app's whole environment besides the app's identity: where its queue lives
   * (CHARTER_QUEUE_DB or DATABASE_URL) and its provider secrets. Nothing is inherited from this
   * process's environment, so that nothing a user has exported can point the app elsewhere.
   */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The app's schedule timer, off by default (scheduled work runs on tick()). When on, the app
   * also does what it does on every production start: it lists its installations and reconciles
   * each repository with GitHub's record of merges and pushes.
   */
  readonly scheduleIntervalMs?: number;
}

/** Starts Charter (charter-process.ts) as its own process; resolves once it listens. */
export async function startCharterProcess(sim: GitHubSimulator, options: CharterProcessOptions): Promise<CharterProcess> {
  const app = spawnGroup(process.execPath, ["--import", "tsx", ENTRY], {
    cwd: root,
    env: {
      ...options.env,
      APP_ID: String(sim.appId),
      PRIVATE_KEY: sim.privateKey,
      WEBHOOK_SECRET: sim.webhookSecret,
      SIM_URL: options.simUrl,
      CHARTER_SIGNING_KEY: options.signingKey,
      SCHEDULE_INTERVAL_MS: String(options.scheduleIntervalMs ?? 0),
    },
    // stdin stays open for the child's lifetime: it stops when this process ends (charter-process.ts).
    stdio: ["pipe", "pipe", "pipe"],
  });
  const { child } = app;
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once("exit", (code, signal) => {
      reject(new Error(`charter process exited (${String(code ?? signal)}) before listening: ${stderr}`));
    });
  });
  return {
    url,
    webhookUrl: `${url}/api/github/webhooks`,
    child,
    async tick(force = []) {
      const query = force.length === 0 ? "" : `?force=${encodeURIComponent(force.join(","))}`;
      const response = await fetch(`${url}${SCHEDULE_TICK_PATH}${query}`, { method: "POST" });
      if (!response.ok) throw new Error(`charter process: scheduled work failed (${String(response.status)}): ${await response.text()}`);
    },
    kill: () => app.kill(),
    stop: (graceMs = 15_000) => app.stop(graceMs),
  };
}
