// A throwaway squid (Debian's /usr/sbin/squid) on a loopback port, in a temporary directory that
// stop() removes. The directory is what Charter's squid provider owns: the provider writes
// squid.conf there, and start() runs squid on that file in the foreground (-N), in its own
// process group, so that stop() ends squid and its helpers together. Run as root, squid drops
// to its effective user (proxy on Debian), which must be able to write the directory.
import { spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GroupChild, runGroup, spawnGroup } from "./child-processes.js";
import { freePort } from "./free-port.js";

export interface ThrowawaySquid {
  readonly directory: string;
  readonly port: number;
  /** `127.0.0.1:<port>`, the provider's listen setting. */
  readonly listen: string;
  /** A hosts file naming `hosts` on 127.0.0.1, for squid's hosts_file. */
  readonly hostsFile: string;
  readonly program: string;
  /** Starts squid on the directory's squid.conf and resolves once it accepts connections. */
  start(): Promise<void>;
  /** squid -k reconfigure, as an operator would after editing squid.conf by hand; resolves once squid listens again. */
  reload(): Promise<void>;
  /** Output squid has printed so far. */
  output(): string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

function squidProgram(): string {
  const fromEnv = process.env["SQUID_BIN"];
  if (fromEnv) return fromEnv;
  if (spawnSync("/usr/sbin/squid", ["-v"], { stdio: "ignore" }).status === 0) return "/usr/sbin/squid";
  throw new Error("squid not found: install Debian's `squid` package or set SQUID_BIN");
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => {
      resolve(false);
    });
  });
}

/** `hosts` are names the hosts file maps to 127.0.0.1 (squid resolves the upstream by name). */
export async function throwawaySquid(hosts: readonly string[]): Promise<ThrowawaySquid> {
  const program = squidProgram();
  const directory = mkdtempSync(join(tmpdir(), "charter-squid-"));
  const effective = spawnSync("id", ["-u", "proxy"], { encoding: "utf8" });
  if (process.getuid?.() === 0 && effective.status === 0) {
    const uid = Number(effective.stdout.trim());
    const gid = Number(spawnSync("id", ["-g", "proxy"], { encoding: "utf8" }).stdout.trim());
    chownSync(directory, uid, gid);
  }
  const hostsFile = join(directory, "hosts");
  writeFileSync(hostsFile, `127.0.0.1 ${hosts.join(" ")}\n`, { mode: 0o644 });
  const port = await freePort();
  let running: GroupChild | undefined;
  let output = "";
  return {
    directory,
    port,
    listen: `127.0.0.1:${String(port)}`,
    hostsFile,
    program,
    async start() {
      const server = spawnGroup(program, ["-N", "-f", join(directory, "squid.conf")], { stdio: ["ignore", "pipe", "pipe"] });
      running = server;
      server.child.stdout?.on("data", (c: Buffer) => (output += c.toString()));
      server.child.stderr?.on("data", (c: Buffer) => (output += c.toString()));
      const deadline = Date.now() + READY_TIMEOUT_MS;
      while (!(await accepts(port))) {
        if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`squid exited before listening: ${output}`);
        if (Date.now() > deadline) throw new Error(`squid did not listen on ${String(port)}: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async reload() {
      const cacheLog = join(directory, "cache.log");
      const accepted = (): number => (readFileSync(cacheLog, "utf8").match(/Accepting HTTP Socket connections/g) ?? []).length;
      const before = accepted();
      await runGroup(program, ["-k", "reconfigure", "-f", join(directory, "squid.conf")], { timeoutMs: 30_000 });
      const deadline = Date.now() + READY_TIMEOUT_MS;
      while (accepted() === before) {
        if (Date.now() > deadline) throw new Error(`squid did not listen again after the reload: ${readFileSync(cacheLog, "utf8").slice(-2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    output: () => output,
    async stop() {
      // SIGKILL: squid's own shutdown waits shutdown_lifetime (30 s) for clients.
      await running?.kill();
      running = undefined;
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
