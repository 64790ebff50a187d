import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { CharterError } from "../../errors.js";

/**
 * The local provider's store: one SQLite file holding agent identities and the tokens issued to
 * them. Every statement is parameterised (agent ids and permissions come from pull requests).
 * Rows without the ownership marker were not made by Charter: they are read, reported and
 * never written.
 */

/** The ownership marker: only rows carrying it are ever changed by the provider. */
export const MANAGED_BY = "charter";

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS agent_identities (
  agent_id TEXT PRIMARY KEY NOT NULL,
  status TEXT NOT NULL,
  manifest_sha256 TEXT,
  commit_sha TEXT,
  permissions TEXT NOT NULL DEFAULT '[]',
  max_lifetime_seconds INTEGER,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  revoked_at TEXT,
  managed_by TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS issued_tokens (
  jti TEXT PRIMARY KEY NOT NULL,
  agent_id TEXT NOT NULL REFERENCES agent_identities (agent_id),
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0,
  revoked_at TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS issued_tokens_by_agent ON issued_tokens (agent_id, revoked);
`;

/** One row of agent_identities as the provider reads it, managed or not. */
export interface StoredIdentity {
  readonly agentId: string;
  readonly status: string;
  /** MANAGED_BY for identities Charter created; anything else is a look-alike. */
  readonly managedBy: string | null;
  readonly manifestSha256: string | null;
  readonly commit: string | null;
  /** Sorted permission strings, exactly as the manifest wrote them. */
  readonly permissions: readonly string[];
  readonly maxLifetimeSeconds: number | null;
  readonly revokedAt: string | null;
  /** Tokens not revoked yet, expired or not: a retired agent must have none. */
  readonly unrevokedTokens: number;
}

export interface IssuedTokenRow {
  readonly jti: string;
  readonly agentId: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
  readonly revoked: boolean;
}

interface IdentityRow {
  agent_id: string;
  status: string;
  managed_by: string | null;
  manifest_sha256: string | null;
  commit_sha: string | null;
  permissions: string;
  max_lifetime_seconds: number | null;
  revoked_at: string | null;
  unrevoked_tokens: number;
}

/**
 * "write" creates the file when missing; "read" never creates or writes, and a missing file is an
 * error; "read-or-empty" reads a missing file as an empty registry, still creating nothing.
 */
export type RegistryAccess = "write" | "read" | "read-or-empty";

export class LocalRegistry {
  private constructor(private readonly db: Database.Database) {}

  /** Opens the registry at `path`, creating it (and its directory) when opened for writing. */
  static open(path: string, options: { readonly access?: RegistryAccess } = {}): LocalRegistry {
    const access = options.access ?? "write";
    if (access !== "write" && path !== ":memory:") {
      if (existsSync(path)) return LocalRegistry.openReadOnly(path);
      if (access === "read-or-empty") return LocalRegistry.open(":memory:");
      throw new CharterError("NOT_FOUND", `the local registry ${path} does not exist`, {
        hint: "Check CHARTER_LOCAL_DB: charter plan and charter drift only read the registry; charter sync (or the app, on a merge) creates it.",
      });
    }
    let db: Database.Database;
    try {
      if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
    } catch (error) {
      throw new CharterError("IO", `cannot open the local registry ${path}: ${(error as Error).message}`, {
        hint: "Set CHARTER_LOCAL_DB to a writable file path.",
        cause: error,
      });
    }
    try {
      // WAL lets readers (token verification, drift checks) run beside a sync; busy_timeout makes
      // a second writer wait for the lock instead of failing at once.
      db.pragma("journal_mode = WAL");
      db.pragma("busy_timeout = 5000");
      db.pragma("foreign_keys = ON");
      const version = db.pragma("user_version", { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new CharterError("INVALID_CONFIG", `the local registry ${path} has schema version ${version}; this Charter knows ${SCHEMA_VERSION}`, {
          hint: "Upgrade Charter, or point CHARTER_LOCAL_DB at another file.",
        });
      }
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    } catch (error) {
      db.close();
      if (error instanceof CharterError) throw error;
      throw new CharterError("IO", `cannot prepare the local registry ${path}: ${(error as Error).message}`, { cause: error });
    }
    return new LocalRegistry(db);
  }

  private static openReadOnly(path: string): LocalRegistry {
    let db: Database.Database;
    try {
      db = new Database(path, { readonly: true, fileMustExist: true });
    } catch (error) {
      throw new CharterError("IO", `cannot open the local registry ${path}: ${(error as Error).message}`, { hint: "Set CHARTER_LOCAL_DB to a readable registry file.", cause: error });
    }
    try {
      db.pragma("busy_timeout = 5000");
      const version = db.pragma("user_version", { simple: true }) as number;
      if (version !== SCHEMA_VERSION) {
        throw new CharterError("INVALID_CONFIG", version === 0 ? `${path} is not a local registry (it has none of its tables)` : `the local registry ${path} has schema version ${version}; this Charter knows ${SCHEMA_VERSION}`, {
          hint: version === 0 ? "Point CHARTER_LOCAL_DB at the file charter sync writes." : "Upgrade Charter, or point CHARTER_LOCAL_DB at another file.",
        });
      }
    } catch (error) {
      db.close();
      if (error instanceof CharterError) throw error;
      throw new CharterError("IO", `cannot read the local registry ${path}: ${(error as Error).message}`, { cause: error });
    }
    return new LocalRegistry(db);
  }

  identities(): StoredIdentity[] {
    const rows = this.db
      .prepare<[], IdentityRow>(
        `SELECT i.agent_id, i.status, i.managed_by, i.manifest_sha256, i.commit_sha, i.permissions, i.max_lifetime_seconds, i.revoked_at,
                (SELECT COUNT(*) FROM issued_tokens t WHERE t.agent_id = i.agent_id AND t.revoked = 0) AS unrevoked_tokens
           FROM agent_identities i ORDER BY i.agent_id`,
      )
      .all();
    return rows.map(toIdentity);
  }

  identity(agentId: string): StoredIdentity | undefined {
    return this.identities().find((i) => i.agentId === agentId);
  }

  /** Runs `fn` in one immediate transaction: all or nothing, with the write lock taken up front. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Creates the identity, or reactivates a revoked one with no permissions. Only managed rows are touched. */
  createIdentity(input: { agentId: string; manifestSha256: string; commit: string; maxLifetimeSeconds: number; now: string }): boolean {
    const result = this.db
      .prepare(
        `INSERT INTO agent_identities (agent_id, status, manifest_sha256, commit_sha, permissions, max_lifetime_seconds, created_at, updated_at, managed_by)
         VALUES (@agentId, 'active', @manifestSha256, @commit, '[]', @maxLifetimeSeconds, @now, @now, @managedBy)
         ON CONFLICT (agent_id) DO UPDATE SET
           status = 'active',
           permissions = CASE WHEN agent_identities.status = 'active' THEN agent_identities.permissions ELSE '[]' END,
           manifest_sha256 = excluded.manifest_sha256, commit_sha = excluded.commit_sha,
           max_lifetime_seconds = excluded.max_lifetime_seconds,
           updated_at = excluded.updated_at, revoked_at = NULL
         WHERE agent_identities.managed_by = @managedBy`,
      )
      .run({ ...input, managedBy: MANAGED_BY });
    return result.changes === 1;
  }

  setPermissions(agentId: string, permissions: readonly string[], now: string): boolean {
    return this.updateManaged("permissions = @permissions", { agentId, now, permissions: JSON.stringify([...permissions].sort()) });
  }

  setLifetime(agentId: string, maxLifetimeSeconds: number, now: string): boolean {
    return this.updateManaged("max_lifetime_seconds = @maxLifetimeSeconds", { agentId, now, maxLifetimeSeconds });
  }

  stampApproval(agentId: string, manifestSha256: string, commit: string, now: string): boolean {
    return this.updateManaged("manifest_sha256 = @manifestSha256, commit_sha = @commit", { agentId, now, manifestSha256, commit });
  }

  /** Revokes the identity and every token issued to it. Idempotent: revoking twice keeps the first time. */
  revoke(agentId: string, now: string): boolean {
    return this.transaction(() => {
      const identity = this.db
        .prepare(
          `UPDATE agent_identities SET status = 'revoked', permissions = '[]', revoked_at = COALESCE(revoked_at, @now), updated_at = @now
            WHERE agent_id = @agentId AND managed_by = @managedBy`,
        )
        .run({ agentId, now, managedBy: MANAGED_BY });
      if (identity.changes === 0) return false;
      this.db.prepare("UPDATE issued_tokens SET revoked = 1, revoked_at = @now WHERE agent_id = @agentId AND revoked = 0").run({ agentId, now });
      return true;
    });
  }

  recordToken(token: IssuedTokenRow): void {
    this.db
      .prepare("INSERT INTO issued_tokens (jti, agent_id, issued_at, expires_at, revoked) VALUES (@jti, @agentId, @issuedAt, @expiresAt, 0)")
      .run({ jti: token.jti, agentId: token.agentId, issuedAt: token.issuedAt, expiresAt: token.expiresAt });
  }

  tokens(agentId: string): IssuedTokenRow[] {
    return this.db
      .prepare<[string], { jti: string; agent_id: string; issued_at: number; expires_at: number; revoked: number }>(
        "SELECT jti, agent_id, issued_at, expires_at, revoked FROM issued_tokens WHERE agent_id = ? ORDER BY issued_at, jti",
      )
      .all(agentId)
      .map((r) => ({ jti: r.jti, agentId: r.agent_id, issuedAt: r.issued_at, expiresAt: r.expires_at, revoked: r.revoked === 1 }));
  }

  /** Ids of revoked tokens that have not expired yet at `nowSeconds`: the list gateways must refuse. */
  revokedTokenIds(nowSeconds: number): string[] {
    return this.db
      .prepare<[number], { jti: string }>("SELECT jti FROM issued_tokens WHERE revoked = 1 AND expires_at > ? ORDER BY jti")
      .all(nowSeconds)
      .map((r) => r.jti);
  }

  close(): void {
    this.db.close();
  }

  private updateManaged(assignments: string, params: Record<string, unknown>): boolean {
    // `assignments` is one of the constant strings above, never input: values travel as parameters.
    const result = this.db
      .prepare(`UPDATE agent_identities SET ${assignments}, updated_at = @now WHERE agent_id = @agentId AND managed_by = @managedBy AND status = 'active'`)
      .run({ ...params, managedBy: MANAGED_BY });
    return result.changes === 1;
  }
}

function toIdentity(row: IdentityRow): StoredIdentity {
  return {
    agentId: row.agent_id,
    status: row.status,
    managedBy: row.managed_by,
    manifestSha256: row.manifest_sha256,
    commit: row.commit_sha,
    permissions: parsePermissions(row.permissions),
    maxLifetimeSeconds: row.max_lifetime_seconds,
    revokedAt: row.revoked_at,
    unrevokedTokens: row.unrevoked_tokens,
  };
}

/** A row edited by hand may hold anything: what is not a list of strings reads as a list that matches nothing approved. */
function parsePermissions(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value;
  } catch {
    // fall through
  }
  return [`(unreadable: ${text.slice(0, 80)})`];
}
