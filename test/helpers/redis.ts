// A throwaway Redis server on loopback, started from Debian's `redis-server` binary: no
// persistence (nothing is saved, no append-only file), its working directory a temporary one that
// stop() removes, a random password so that the URL has the shape operators use. Redis, unlike
// initdb, runs as root without complaint, so it runs as whoever runs the tests.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnGroup } from "./child-processes.js";
import { freePort } from "./free-port.js";

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  readonly password: string;
  /** `redis://:password@127.0.0.1:port/0`, the form REDIS_URL takes. */
  readonly url: string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
/** Another process can take the free port between our probe and redis-server's bind; try anew then. */
const START_ATTEMPTS = 3;

function binary(): string {
  const fromEnv = process.env["REDIS_SERVER_BIN"];
  if (fromEnv) return fromEnv;
  if (spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0) return "redis-server";
  throw new Error("redis-server not found: install Debian's `redis-server` package or set REDIS_SERVER_BIN");
}


/** One AUTH + PING over a raw connection: true once the server answers PONG. */
async function answersPing(port: number, password: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let answer = "";
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => {
      done(false);
    });
    socket.once("error", () => {
      done(false);
    });
    socket.on("data", (chunk: Buffer) => {
      answer += chunk.toString();
      if (answer.includes("+PONG")) done(true);
      else if (answer.includes("-")) done(false);
    });
    socket.write(`AUTH ${password}\r\nPING\r\n`);
  });
}

async function startOnce(bin: string, dir: string, password: string, args: readonly string[]): Promise<RedisServer | undefined> {
  const port = await freePort();
  const server = spawnGroup(
    bin,
    ["--bind", "127.0.0.1", "--port", String(port), "--requirepass", password, "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no", "--logfile", "", ...args],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const { child } = server;
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await answersPing(port, password))) {
    if (child.exitCode !== null || child.signalCode !== null) {
      // Lost the port to someone else: the caller tries another one.
      if (/address already in use/i.test(output)) return undefined;
      throw new Error(`redis-server exited (${String(child.exitCode ?? child.signalCode)}) before answering: ${output}`);
    }
    if (Date.now() > deadline) {
      await server.kill();
      throw new Error(`redis-server did not answer PING on port ${String(port)}: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  let stopped = false;
  return {
    host: "127.0.0.1",
    port,
    password,
    url: `redis://:${password}@127.0.0.1:${String(port)}/0`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `args` are further redis-server options, e.g. ["--rename-command", "ACL", ""] for a server without ACL commands. */
export async function startRedis(options: { readonly args?: readonly string[] } = {}): Promise<RedisServer> {
  const bin = binary();
  const dir = mkdtempSync(join(tmpdir(), "charter-redis-"));
  // Hex, so that it needs no escaping in a URL or in the inline AUTH command.
  const password = randomBytes(16).toString("hex");
  try {
    for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
      const server = await startOnce(bin, dir, password, options.args ?? []);
      if (server !== undefined) return server;
    }
  } catch (error: unknown) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`redis-server could not bind a free port in ${String(START_ATTEMPTS)} attempts`);
}
