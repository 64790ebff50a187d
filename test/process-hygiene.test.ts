import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runGroup, spawnGroup, stopEverythingNow } from "./helpers/child-processes.js";
import { waitFor } from "./jobs/wait-for.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(ROOT, path)).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/** The processes of a group, from /proc (field 5 of stat is the process group). */
function groupMembers(pgid: number): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return Number(fields[2]) === pgid && fields[0] !== "Z";
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** A wrapper whose child does the work, as tsx's CLI runs node: killing only the wrapper leaves the child. */
const WRAPPER = ["-c", `${process.execPath} -e "setInterval(() => {}, 1000)" & wait`];

describe("processes started by tests", () => {
  it("are started only through test/helpers/child-processes.ts", () => {
    const offenders = [...files("test"), ...files("playground")]
      .filter((path) => path !== join("test", "helpers", "child-processes.ts"))
      .flatMap((path) => {
        const text = readFileSync(join(ROOT, path), "utf8");
        const imported = /import\s*\{([^}]*)\}\s*from\s*"node:child_process"/.exec(text)?.[1] ?? "";
        // execFile may run git, which ends on its own; nothing else.
        const gitOnly = [...text.matchAll(/(?<![.\w])(?:execFile|exec)\(\s*([^,\s)]+)/g)].every((m) => m[1] === '"git"');
        const asynchronous = imported
          .split(",")
          .map((name) => name.trim())
          .filter((name) => ["spawn", "fork", "exec"].includes(name) || (name === "execFile" && !gitOnly));
        // A synchronous run of node or tsx is a long job a timeout would cut off at its wrapper.
        const longSync = /\b(execFileSync|spawnSync|execSync)\(\s*(process\.execPath|`[^`]*tsx)/.test(text);
        return [...asynchronous.map((name) => `${relative(ROOT, join(ROOT, path))}: ${name}`), ...(longSync ? [`${path}: a synchronous node run`] : [])];
      });
    expect(offenders).toEqual([]);
  });

  it("stop() ends the whole group: the wrapper and the child it started", async () => {
    const wrapper = spawnGroup("sh", WRAPPER, { stdio: "ignore" });
    const pgid = wrapper.child.pid ?? 0;
    await waitFor(() => groupMembers(pgid).length === 2, "the wrapper's child to start");
    await wrapper.stop(2_000);
    await waitFor(() => groupMembers(pgid).length === 0, "the whole group to be gone");
  });

  it("kill() ends the group too, and a child that outlives its leader is not left behind", async () => {
    const wrapper = spawnGroup("sh", WRAPPER, { stdio: "ignore" });
    const pgid = wrapper.child.pid ?? 0;
    await waitFor(() => groupMembers(pgid).length === 2, "the wrapper's child to start");
    await wrapper.kill();
    await waitFor(() => groupMembers(pgid).length === 0, "the whole group to be gone");
  });

  it("a run past its timeout is killed with its group and reported", async () => {
    await expect(runGroup("sh", WRAPPER, { timeoutMs: 500 })).rejects.toThrow(/did not finish within 500 ms \(killed with its process group\)/);
  });

  it("whatever is still running when the test process exits is killed (the exit hook)", async () => {
    const forgotten = spawnGroup("sh", WRAPPER, { stdio: "ignore" });
    const pgid = forgotten.child.pid ?? 0;
    await waitFor(() => groupMembers(pgid).length === 2, "the wrapper's child to start");
    stopEverythingNow();
    await waitFor(() => groupMembers(pgid).length === 0, "the forgotten group to be gone");
  });

  it("the leftover check (scripts/leftover-processes.js) kills what the run left, and spares the processes it runs under", async () => {
    // As in .ci/run: the marker is set before the run, so the shell that runs the check (and npm,
    // and vitest) carry it as well as the process a test forgot.
    const marker = `hygiene-${String(process.pid)}-${String(Date.now())}`;
    const dir = mkdtempSync(join(tmpdir(), "charter-hygiene-"));
    try {
      const script = join(dir, "run.sh");
      writeFileSync(
        script,
        [
          `"$NODE" -e "setInterval(() => {}, 1000)" &`,
          // The check runs two shells down, as npm test runs vitest under npm and a shell.
          `sh -c '"$NODE" "$CHECK"; echo "the check exited $?"'`,
          `echo "the shell that ran it is still alive"`,
          "",
        ].join("\n"),
      );
      const env = { ...process.env, NODE: process.execPath, CHECK: join(ROOT, "scripts", "leftover-processes.js") };
      // spawnGroup sets the run's own marker; the shell replaces it with this test's before the rest starts.
      const run = await runGroup("sh", ["-c", `CHARTER_TEST_RUN=${marker} exec sh ${script}`], { env, timeoutMs: 20_000 });
      expect(run.stdout).toBe("the check exited 1\nthe shell that ran it is still alive\n");
      expect(run.stderr).toMatch(/^1 process of the test run still alive \(killed now\):\n {2}\d+ {2}\S*node -e setInterval/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
