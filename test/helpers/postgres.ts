// A throwaway PostgreSQL cluster on loopback, started from the Debian server binaries.
// initdb refuses to run as root, so as root every server command runs as the `postgres` user and
// the data and socket directories are handed to that user. Password (scram) auth is on for TCP so
// that `VALID UNTIL` on lease roles is actually enforced; the superuser password is random per run.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";

export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  /** Superuser name (`postgres`). */
  readonly user: string;
  readonly password: string;
  /** `postgres://postgres:…@127.0.0.1:port/postgres` */
  readonly url: string;
  /** URL of another database on the same server, as the superuser. */
  urlFor(database: string, user?: string, password?: string): string;
  stop(): void;
}

function binDir(): string {
  const fromEnv = process.env["PG_BIN_DIR"];
  if (fromEnv !== undefined && existsSync(join(fromEnv, "initdb"))) return fromEnv;
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    const newest = versions[0];
    if (newest !== undefined) return join(root, newest, "bin");
  }
  throw new Error(
    "PostgreSQL server binaries not found: install Debian's `postgresql` package or set PG_BIN_DIR to the directory holding initdb",
  );
}


function postgresIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const result = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  if (result.status !== 0) throw new Error("running as root but there is no `postgres` user to run the server as");
  const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  return { uid: Number(result.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function run(bin: string, args: readonly string[], asPostgres: boolean): void {
  const [command, argv] = asPostgres ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, [...args]];
  execFileSync(command, argv, { stdio: ["ignore", "pipe", "pipe"] });
}

export async function startPostgres(): Promise<PostgresServer> {
  const bin = binDir();
  const ids = postgresIds();
  const base = mkdtempSync(join(tmpdir(), "charter-pg-"));
  const data = join(base, "data");
  const sockets = join(base, "sockets");
  const passwordFile = join(base, "password");
  const password = randomBytes(18).toString("base64url");
  writeFileSync(passwordFile, password);
  execFileSync("mkdir", ["-p", sockets]);
  chmodSync(base, 0o755);
  if (ids !== undefined) {
    for (const path of [base, sockets, passwordFile]) chownSync(path, ids.uid, ids.gid);
  }
  const asPostgres = ids !== undefined;
  run(
    join(bin, "initdb"),
    [
      "-D",
      data,
      "--no-sync",
      "-U",
      "postgres",
      "--auth-local=trust",
      "--auth-host=scram-sha-256",
      `--pwfile=${passwordFile}`,
    ],
    asPostgres,
  );
  rmSync(passwordFile);
  const port = await freePort();
  run(
    join(bin, "pg_ctl"),
    [
      "-D",
      data,
      "-w",
      "-l",
      join(base, "server.log"),
      "-o",
      `-c listen_addresses=127.0.0.1 -p ${String(port)} -k ${sockets} -c fsync=off -c max_connections=200`,
      "start",
    ],
    asPostgres,
  );
  const host = "127.0.0.1";
  const urlFor = (database: string, user = "postgres", pass = password): string =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@${host}:${String(port)}/${encodeURIComponent(database)}`;
  let stopped = false;
  return {
    host,
    port,
    user: "postgres",
    password,
    url: urlFor("postgres"),
    urlFor,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"], asPostgres);
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    },
  };
}
