// A throwaway PostgreSQL cluster on loopback, started from the Debian server binaries.
// initdb refuses to run as root, so as root every server command runs as the `postgres` user and
// the data and socket directories are handed to that user. Password (scram) auth is on for TCP so
// that `VALID UNTIL` on lease roles is actually enforced; the superuser password is random per run.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onProcessExit } from "./child-processes.js";
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
  /** With `audit`: the directory the server writes its JSON logs (with pgaudit lines) into. */
  readonly logDirectory: string | undefined;
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

export interface PostgresOptions {
  /**
   * Loads pgaudit and writes the JSON log the action trail follows: log_destination=jsonlog in
   * UTC, session audit of reads, writes and DDL with one line per relation and no parameters,
   * connection lines. The log directory belongs to the server; the tests read it as root.
   */
  readonly audit?: boolean;
}

/** The settings docs/providers.md tells operators to use, as server options. */
const PGAUDIT_SETTINGS = [
  "shared_preload_libraries=pgaudit",
  "log_destination=jsonlog",
  "logging_collector=on",
  "log_timezone=UTC",
  "log_connections=on",
  "pgaudit.log=read,write,ddl",
  "pgaudit.log_relation=on",
  "pgaudit.log_parameter=off",
  "pgaudit.log_statement_once=off",
];

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
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
  const logDirectory = options.audit === true ? join(base, "log") : undefined;
  if (logDirectory !== undefined) {
    execFileSync("mkdir", ["-p", logDirectory]);
    if (ids !== undefined) chownSync(logDirectory, ids.uid, ids.gid);
  }
  const audit = logDirectory === undefined ? "" : ` ${[...PGAUDIT_SETTINGS, `log_directory=${logDirectory}`, "log_filename=postgresql-%Y%m%d_%H%M%S.log"].map((o) => `-c ${o}`).join(" ")}`;
  run(
    join(bin, "pg_ctl"),
    [
      "-D",
      data,
      "-w",
      "-l",
      join(base, "server.log"),
      "-o",
      `-c listen_addresses=127.0.0.1 -p ${String(port)} -k ${sockets} -c fsync=off -c max_connections=200${audit}`,
      "start",
    ],
    asPostgres,
  );
  const host = "127.0.0.1";
  const urlFor = (database: string, user = "postgres", pass = password): string =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@${host}:${String(port)}/${encodeURIComponent(database)}`;
  let stopped = false;
  // pg_ctl's server leaves pg_ctl's process group: if this process ends before stop() (a failed
  // or timed-out test), the server is stopped on the way out.
  const release = onProcessExit(() => {
    run(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"], asPostgres);
    rmSync(base, { recursive: true, force: true });
  });
  return {
    host,
    port,
    user: "postgres",
    password,
    url: urlFor("postgres"),
    urlFor,
    logDirectory,
    stop() {
      if (stopped) return;
      stopped = true;
      release();
      try {
        run(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"], asPostgres);
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    },
  };
}
