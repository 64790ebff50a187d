// Finds the processes a test run left behind, kills them and names them. Every process a run
// starts carries the run's marker in its environment (CHARTER_TEST_RUN, set by vitest's global
// setup or by .ci/run, and inherited by children and grandchildren: servers, wrappers' children,
// daemons), so survivors are found whatever started them and however they were detached.
// Used by test/global-setup.ts after every vitest run, and by .ci/run after npm test (which also
// catches a vitest that was itself killed). Linux only: it reads /proc.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const RUN_MARKER = "CHARTER_TEST_RUN";

/** The parent of a process, or undefined when it is gone. */
function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, "utf8");
    // Field 4, after the command name in parentheses (which may itself hold spaces and parentheses).
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/**
 * This process and the processes it runs under. They carry the marker when it was set before the
 * run (.ci/run exports it, so npm and its shell hold it) and must outlive the check they asked for.
 */
function lineage() {
  const pids = [];
  for (let pid = process.pid; pid !== undefined && pid > 1; pid = parentOf(pid)) pids.push(pid);
  return pids;
}

/** Processes whose environment holds this run's marker, except this process and its ancestors. */
export function survivors(marker) {
  const wanted = `${RUN_MARKER}=${marker}`;
  const spared = new Set(lineage());
  const found = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (spared.has(pid)) continue;
    try {
      if (!readFileSync(`/proc/${name}/environ`, "latin1").split("\0").includes(wanted)) continue;
      const command = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
      found.push({ pid, ppid: parentOf(pid), command: command.length > 200 ? `${command.slice(0, 199)}…` : command });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** Kills every survivor (SIGKILL: a test already had its chance to stop it) and returns them. */
export function killSurvivors(marker) {
  const found = survivors(marker);
  for (const { pid } of found) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  return found;
}

export function describeSurvivors(found) {
  return `${found.length} process${found.length === 1 ? "" : "es"} of the test run still alive (killed now):\n${found.map((p) => `  ${p.pid}  ${p.command}`).join("\n")}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const marker = process.argv[2] ?? process.env[RUN_MARKER];
  if (!marker) {
    console.error(`usage: node scripts/leftover-processes.js MARKER (the run's ${RUN_MARKER})`);
    process.exit(2);
  }
  const found = killSurvivors(marker);
  if (found.length > 0) {
    console.error(describeSurvivors(found));
    process.exit(1);
  }
  console.log("no processes of the test run are left");
}
