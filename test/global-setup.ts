import { setTimeout as sleep } from "node:timers/promises";
import { describeSurvivors, killSurvivors, RUN_MARKER, survivors } from "../scripts/leftover-processes.js";

/** How long vitest's own workers (children of this process) may take to exit after the last test. */
const WORKER_EXIT_MS = 10_000;

/**
 * Marks the run: every process started from here on (workers, and whatever tests start, however
 * deep) inherits CHARTER_TEST_RUN. After the last test, any process still carrying the marker was
 * left behind by a test: it is killed and the run fails naming it. .ci/run sets the marker itself
 * so that it can check again after vitest has exited.
 */
export default function setup(): () => Promise<void> {
  const marker = process.env[RUN_MARKER] ?? `vitest-${String(process.pid)}-${String(Date.now())}`;
  process.env[RUN_MARKER] = marker;
  return async () => {
    // vitest may still be closing its workers when it calls this; what they started is not
    // theirs to wait for (its parent is a worker, not this process), so it is still caught.
    for (let waited = 0; waited < WORKER_EXIT_MS && survivors(marker).some((p) => p.ppid === process.pid); waited += 50) await sleep(50);
    const found = killSurvivors(marker);
    if (found.length === 0) return;
    // vitest reports an error thrown here but still exits 0: the exit code is set as well.
    process.exitCode = 1;
    throw new Error(describeSurvivors(found));
  };
}
