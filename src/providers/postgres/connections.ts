import pg from "pg";
import { CharterError } from "../../errors.js";

/**
 * One client per database, opened on first use. Roles are cluster-wide but grants live in each
 * database's catalogs, so the provider needs a session in every database it manages.
 */
export interface Connections {
  /** The database named in the connection string: where cluster-wide statements run. */
  readonly defaultDatabase: string;
  client(database?: string): Promise<pg.Client>;
  /** The same server and options, another database and login. */
  urlFor(database: string, user?: string, password?: string): string;
  close(): Promise<void>;
}

export function openConnections(connectionString: string): Connections {
  let base: URL;
  try {
    base = new URL(connectionString);
  } catch (cause) {
    throw new CharterError("INVALID_CONFIG", "the postgres connection string is not a URL", { cause, hint: "Use postgres://user:password@host:port/database." });
  }
  if (base.protocol !== "postgres:" && base.protocol !== "postgresql:") {
    throw new CharterError("INVALID_CONFIG", `the postgres connection string has scheme ${base.protocol}, expected postgres:`, {
      hint: "Use postgres://user:password@host:port/database.",
    });
  }
  const defaultDatabase = decodeURIComponent(base.pathname.replace(/^\//, "")) || decodeURIComponent(base.username) || "postgres";
  const clients = new Map<string, Promise<pg.Client>>();

  const urlFor = (database: string, user?: string, password?: string): string => {
    const url = new URL(base.href);
    url.pathname = `/${encodeURIComponent(database)}`;
    if (user !== undefined) url.username = encodeURIComponent(user);
    if (password !== undefined) url.password = encodeURIComponent(password);
    return url.href;
  };

  const open = async (database: string): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: urlFor(database) });
    // A server-side termination surfaces as an 'error' event; unhandled it would crash the
    // process. The broken client is forgotten so that the next use reconnects.
    client.on("error", () => {
      clients.delete(database);
    });
    try {
      await client.connect();
      // The catalog reads look expensive to the planner (it cannot estimate aclexplode), which
      // makes a server with JIT on compile them: some 350 ms for a read that runs in 10. These
      // sessions only read catalogs and run DDL, which JIT never helps.
      await client.query("SET jit = off");
    } catch (cause) {
      clients.delete(database);
      await client.end().catch(() => undefined);
      throw new CharterError("IO", `cannot connect to postgres database ${JSON.stringify(database)}: ${(cause as Error).message}`, { cause });
    }
    return client;
  };

  return {
    defaultDatabase,
    urlFor,
    client(database = defaultDatabase) {
      let client = clients.get(database);
      if (client === undefined) {
        client = open(database);
        clients.set(database, client);
      }
      return client;
    },
    async close() {
      const all = [...clients.values()];
      clients.clear();
      await Promise.allSettled(all.map(async (c) => (await c).end()));
    },
  };
}
