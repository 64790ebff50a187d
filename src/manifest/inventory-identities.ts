import { declaredGithubIdentities } from "./declared-identity.js";

/** A manifest file of the inventory, by the id of its content (a git blob id). */
export interface ManifestBlob {
  readonly path: string;
  readonly oid: string;
}

/** Reads the texts of paths at the commit that was listed; null for one that is not readable text. */
export type ReadTexts = (paths: readonly string[]) => Promise<ReadonlyMap<string, string | null>>;

/** Blob ids remembered; a repository's whole inventory, several times over. */
const DEFAULT_CAPACITY = 200_000;

/**
 * The agent identities declared by manifests, remembered by blob id. A blob id names its content,
 * so what a blob declares never changes and is never stale: only blobs not seen before are read.
 * Bounded: past its capacity the oldest entries are forgotten (and read again if met again).
 */
export class IdentityCache {
  private readonly byBlob = new Map<string, readonly string[]>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  get size(): number {
    return this.byBlob.size;
  }

  /**
   * Every identity the listed manifests declare. `read` is called once, for the blobs the cache
   * has not seen; `fetched` says how many that were.
   */
  async identities(blobs: readonly ManifestBlob[], read: ReadTexts): Promise<{ identities: string[]; fetched: number }> {
    // This call's answers are kept apart from the cache, which may forget some of them at once
    // when the inventory is larger than its capacity.
    const found = new Map<string, readonly string[]>();
    const unseen: ManifestBlob[] = [];
    for (const b of blobs) {
      const known = this.byBlob.get(b.oid);
      if (known) found.set(b.oid, known);
      else unseen.push(b);
    }
    if (unseen.length > 0) {
      const texts = await read(unseen.map((b) => b.path));
      for (const b of unseen) {
        const declared = declaredGithubIdentities(texts.get(b.path) ?? "");
        found.set(b.oid, declared);
        this.remember(b.oid, declared);
      }
    }
    const out = new Set<string>();
    for (const declared of found.values()) for (const login of declared) out.add(login);
    return { identities: [...out].sort(), fetched: unseen.length };
  }

  private remember(oid: string, identities: readonly string[]): void {
    if (this.byBlob.size >= this.capacity) {
      const oldest = this.byBlob.keys().next();
      if (!oldest.done) this.byBlob.delete(oldest.value);
    }
    this.byBlob.set(oid, identities);
  }
}
