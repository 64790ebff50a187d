import { posix } from "node:path";
import type { RepoEntry, RepoReader } from "../manifest/repo-reader.js";

/** The slice of Octokit this reader needs: one GraphQL call. */
export interface GraphqlClient {
  graphql<T>(query: string, variables: Record<string, unknown>): Promise<T>;
}

interface TreeEntry {
  readonly name: string;
  readonly type: string;
  readonly mode: number;
  readonly object: { readonly __typename: string; readonly byteSize?: number; readonly isBinary?: boolean | null } | null;
}

type TreeResult = { readonly __typename: string; readonly entries?: readonly TreeEntry[] } | null;
type BlobResult = { readonly __typename: string; readonly text?: string | null; readonly isBinary?: boolean | null; readonly byteSize?: number } | null;

// Git's mode for a symbolic link (0o120000), as GitHub's GraphQL API reports it.
const SYMLINK_MODE = 40960;
/** Aliases per query: well inside GitHub's GraphQL node and complexity limits. */
export const GRAPHQL_BATCH = 50;

/**
 * Reads files at one commit through GitHub's GraphQL API in batches, so the number of requests
 * depends on how many files are asked for, never on the size of the repository:
 *
 *   1. one query per batch of parent directories lists their entries with mode and size
 *      (the mode tells symlinks from files; the size lets oversized files be refused unread);
 *   2. one query per batch of wanted files fetches their text.
 *
 * Every path goes into a GraphQL *variable*, never into the query text: paths come from pull
 * requests and are attacker-controlled.
 */
export class GraphqlRepoReader implements RepoReader {
  private readonly listings = new Map<string, Map<string, TreeEntry> | null>();
  private readonly cache = new Map<string, RepoEntry>();
  /** Requests made so far, for call accounting in logs and tests. */
  requests = 0;

  constructor(
    private readonly client: GraphqlClient,
    private readonly owner: string,
    private readonly repo: string,
    private readonly commit: string,
  ) {}

  async read(paths: readonly string[], maxBytes: number): Promise<ReadonlyMap<string, RepoEntry>> {
    const wanted = [...new Set(paths)].filter((p) => !this.cache.has(p));
    await this.list([...new Set(wanted.map((p) => posix.dirname(p)))]);

    const toFetch: string[] = [];
    for (const path of wanted) {
      const entry = this.listings.get(posix.dirname(path))?.get(posix.basename(path));
      if (!entry) this.cache.set(path, { kind: "missing" });
      else if (entry.type === "tree") this.cache.set(path, { kind: "directory" });
      else if (entry.type !== "blob" || entry.object?.__typename !== "Blob") this.cache.set(path, { kind: "missing" });
      else if (entry.mode === SYMLINK_MODE) toFetch.push(path);
      else if ((entry.object.byteSize ?? 0) > maxBytes) this.cache.set(path, { kind: "too-large", size: entry.object.byteSize ?? 0 });
      else if (entry.object.isBinary) this.cache.set(path, { kind: "binary" });
      else toFetch.push(path);
    }
    await this.fetchTexts(toFetch);

    const out = new Map<string, RepoEntry>();
    for (const path of paths) out.set(path, this.cache.get(path) ?? { kind: "missing" });
    return out;
  }

  /** Whether a path exists at this commit, from listings already made (no request). */
  listed(path: string): boolean {
    return this.listings.get(posix.dirname(path))?.has(posix.basename(path)) ?? false;
  }

  private async list(dirs: readonly string[]): Promise<void> {
    const missing = dirs.filter((d) => !this.listings.has(d));
    for (let i = 0; i < missing.length; i += GRAPHQL_BATCH) {
      const batch = missing.slice(i, i + GRAPHQL_BATCH);
      const fields = batch.map(
        (_, k) => `d${k}: object(expression: $e${k}) { __typename ... on Tree { entries { name type mode object { __typename ... on Blob { byteSize isBinary } } } } }`,
      );
      const result = await this.query<Record<string, TreeResult>>(batch.map((dir) => `${this.commit}:${dir}`), fields);
      batch.forEach((dir, k) => {
        const tree = result[`d${k}`];
        this.listings.set(dir, tree?.__typename === "Tree" && tree.entries ? new Map(tree.entries.map((e) => [e.name, e])) : null);
      });
    }
  }

  private async fetchTexts(paths: readonly string[]): Promise<void> {
    for (let i = 0; i < paths.length; i += GRAPHQL_BATCH) {
      const batch = paths.slice(i, i + GRAPHQL_BATCH);
      const fields = batch.map((_, k) => `f${k}: object(expression: $e${k}) { __typename ... on Blob { text isBinary byteSize } }`);
      const result = await this.query<Record<string, BlobResult>>(batch.map((path) => `${this.commit}:${path}`), fields);
      batch.forEach((path, k) => {
        const blob = result[`f${k}`];
        const entry = this.listings.get(posix.dirname(path))?.get(posix.basename(path));
        if (blob?.__typename !== "Blob") this.cache.set(path, { kind: "missing" });
        else if (entry?.mode === SYMLINK_MODE) this.cache.set(path, { kind: "symlink", target: blob.text ?? "" });
        else if (blob.isBinary || blob.text === null || blob.text === undefined) this.cache.set(path, { kind: "binary" });
        else this.cache.set(path, { kind: "file", bytes: new TextEncoder().encode(blob.text) });
      });
    }
  }

  private async query<T>(expressions: readonly string[], fields: readonly string[]): Promise<T> {
    const declarations = expressions.map((_, k) => `$e${k}: String!`).join(", ");
    const query = `query CharterRead($owner: String!, $name: String!, ${declarations}) { repository(owner: $owner, name: $name) { ${fields.join(" ")} } }`;
    const variables: Record<string, unknown> = { owner: this.owner, name: this.repo };
    expressions.forEach((e, k) => (variables[`e${k}`] = e));
    this.requests++;
    const result = await this.client.graphql<{ repository: T | null }>(query, variables);
    if (!result.repository) throw new Error(`repository ${this.owner}/${this.repo} is not visible to the app`);
    return result.repository;
  }
}
