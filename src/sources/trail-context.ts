import type { LedgerSource } from "../audit/ledger-source.js";
import { manifestPathOf } from "../evidence/manifest-path.js";
import { parseCanonical } from "../evidence/canonical-json.js";
import type { ChangeRecord, EvidenceRecord } from "../schema-types/evidence-record.generated.js";
import { recordHash } from "../evidence/record.js";
import { LocalRegistry } from "../providers/local/registry.js";
import { identityRoleName, roleNames } from "../providers/postgres/role-names.js";
import { agentUserName } from "../providers/redis/names.js";
import { type PrincipalBinding, PrincipalBook } from "../trail/attribute.js";
import type { IngestContext } from "../trail/decide.js";
import { LocalClock } from "../trail/local-time.js";
import { type ManifestRuntimeFacts, manifestRuntimeFacts, ManifestTimeline } from "../trail/manifest-timeline.js";
import { parseResourceCatalog, ResourceCatalog } from "../trail/resource-catalog.js";
import { CharterError } from "../errors.js";
import { ManifestHistory } from "../detect/manifests-in-force.js";
import { checkManifest } from "../manifest/check-manifest.js";
import { DEFAULT_LIMITS } from "../manifest/limits.js";
import type { TrailStore } from "./trail-store.js";

const DEFAULT_SKEW_MS = 5 * 60_000;

/**
 * What ingest decides against, kept current by its loaders: the manifests in force over time
 * (from the evidence ledger), who each principal is (identity roles derived from the agents,
 * lease logins and tokens remembered when issued), and the resource catalog. Loading is
 * incremental: a refresh reads only the records appended since the last one.
 */
export class TrailContext {
  readonly timeline = new ManifestTimeline();
  readonly principals = new PrincipalBook();
  /** The approved manifests themselves, by change record: what live detection judges events against. */
  readonly manifests = new ManifestHistory();
  #catalog = ResourceCatalog.empty();
  readonly #clock = new LocalClock();
  readonly #skewMs: number;
  readonly #rolePrefix: string | undefined;
  #context: IngestContext;

  constructor(options: { readonly skewMs?: number; readonly rolePrefix?: string } = {}) {
    this.#skewMs = options.skewMs ?? DEFAULT_SKEW_MS;
    this.#rolePrefix = options.rolePrefix;
    this.#context = this.#build();
  }

  current(): IngestContext {
    return this.#context;
  }

  setCatalog(catalog: ResourceCatalog): void {
    this.#catalog = catalog;
    this.#context = this.#build();
  }

  #build(): IngestContext {
    return { timeline: this.timeline, principals: this.principals, catalog: this.#catalog, clock: this.#clock, skewMs: this.#skewMs };
  }

  /** Reads the change records appended to the ledger since the last load. */
  async loadLedger(source: LedgerSource): Promise<number> {
    const size = await source.size();
    let read = 0;
    const names = roleNames(this.#rolePrefix);
    for (let from = this.timeline.size; from < size; from += 500) {
      const bytes = await source.read(from, Math.min(500, size - from));
      const changes: { seq: number; hash: string; record: ChangeRecord }[] = [];
      bytes.forEach((b, i) => {
        const record = parseCanonical(b) as EvidenceRecord;
        if (record.kind === "change") changes.push({ seq: from + i, hash: recordHash(b), record });
      });
      const wanted = new Set<string>();
      for (const c of changes) {
        for (const agent of c.record.body.changes.agents) {
          const path = manifestPathOf(c.record, agent);
          const sha = path === undefined ? undefined : c.record.body.files.hashes[path];
          if (sha !== undefined && c.record.body.copies.includes(sha)) wanted.add(sha);
        }
      }
      const objects = await source.objects([...wanted]);
      const verified = new Map<string, Uint8Array>();
      for (const sha of wanted) {
        const copy = objects.get(sha);
        if (copy !== undefined && recordHash(copy) === sha) verified.set(sha, copy);
      }
      const facts = new Map<string, ManifestRuntimeFacts | null>([...wanted].map((sha) => [sha, verified.has(sha) ? manifestRuntimeFacts(verified.get(sha) as Uint8Array) : null]));
      for (const c of changes) {
        this.timeline.addChange(c.seq, c.hash, c.record, facts);
        for (const agent of c.record.body.changes.agents) {
          const path = manifestPathOf(c.record, agent);
          const copy = path === undefined ? undefined : verified.get(c.record.body.files.hashes[path] ?? "");
          // A manifest that no longer validates (or was deleted) has no version here: detection announces it as missing.
          const manifest = copy === undefined || path === undefined ? undefined : checkManifest(path, copy, DEFAULT_LIMITS).manifest;
          if (manifest !== undefined) this.manifests.add({ agent, seq: c.seq, manifest });
          // The identity role's name is derived from the agent id: it stands for the agent on every instance.
          try {
            this.principals.add({ principal: identityRoleName(names, agent), instance: null, agent, kind: "identity-role", fromMs: 0, untilMs: null });
            // The Redis provider's ACL user and squid's proxy identity (its lease part stripped when
            // the log is parsed) are both named from the id the same way, on every instance.
            this.principals.add({ principal: agentUserName(agent), instance: null, agent, kind: "identity-role", fromMs: 0, untilMs: null });
          } catch {
            // An id no provider would derive a role for (the manifest was invalid): no identity role exists.
          }
        }
      }
      this.timeline.size = from + bytes.length;
      read += bytes.length;
    }
    return read;
  }

  /** Bindings remembered in the trail store (leases issued, tokens imported). */
  async loadBindings(store: TrailStore): Promise<void> {
    for (const b of await store.bindings()) this.principals.add(b);
  }

  /** The local provider's issued tokens: a gateway reports a Charter token by its jti. */
  loadLocalTokens(registryPath: string): number {
    const registry = LocalRegistry.open(registryPath);
    try {
      let n = 0;
      for (const identity of registry.identities()) {
        for (const t of registry.tokens(identity.agentId)) {
          const binding: PrincipalBinding = { principal: t.jti, instance: null, agent: t.agentId, kind: "local-token", fromMs: t.issuedAt * 1000, untilMs: t.expiresAt * 1000 };
          this.principals.add(binding);
          n++;
        }
      }
      return n;
    } finally {
      registry.close();
    }
  }

  /** Replaces the catalog from its file's bytes; a catalog with errors is refused whole, naming its lines. */
  loadCatalog(file: string, bytes: Uint8Array | null): void {
    if (bytes === null) {
      this.setCatalog(ResourceCatalog.empty());
      return;
    }
    const parsed = parseResourceCatalog(file, bytes);
    if (!parsed.ok) {
      throw new CharterError("INVALID_CONFIG", `the resource catalog ${file} is not valid: ${parsed.diagnostics.map((d) => `${d.file}:${d.line}:${d.column} ${d.message}`).join("; ")}`, {
        hint: "Fix the catalog through a pull request (charter validate shows every problem).",
      });
    }
    this.setCatalog(parsed.catalog);
  }
}
