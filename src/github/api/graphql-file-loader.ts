import { posix } from "node:path";
import { AGENTS_DIRECTORY } from "../../change/governed-paths.js";
import { CharterError } from "../../errors.js";
import type { RepoEntry, RepoReader } from "../../manifest/repo-reader.js";

/** The slice of Octokit this reader needs: one GraphQL call. */
export interface GraphqlClient {
  graphql<T>(query: string, variables: Record<string, unknown>): Promise<T>;
}

interface ListedEntry {
  readonly name: string;
  readonly type: string;
  readonly mode: number;
  readonly object: { readonly __typename: string; readonly oid?: string; readonly byteSize?: number; readonly isBinary?: boolean | null; readonly entries?: readonly ListedEntry[] } | null;
}

type TreeResult = { readonly __typename: string; readonly entries?: readonly ListedEntry[] } | null;
type BlobResult = { readonly __typename: string; readonly text?: string | null; readonly isBinary?: boolean | null } | null;

// Git's mode for a symbolic link (0o120000), as GitHub's GraphQL API reports it.
const SYMLINK_MODE = 40960;
/**
 * Objects per query. GitHub's documented GraphQL limits ("Rate limits and query limits for the
 * GraphQL API", docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api)
 * are 500,000 nodes per query, counted from the first/last arguments of connections, and a
 * request is cut off after 10 seconds. `object(...)` and a tree's `entries` are not connections,
 * so the node limit allows far more aliases than this; the timeout is what binds, and each
 * alias is one object lookup. 2,500 covers base and head of 1,000 agent directories plus the
 * fields riding along in one query, so a pull request of that size still costs one listing query.
 * Where GitHub gives up on a batch all the same (see tooCostly), the batch is split in halves and
 * the smaller size kept for the rest of the loader's life.
 */
const GRAPHQL_BATCH = 2_500;
/** File text per query, so that one response stays a few megabytes however large the files. */
const GRAPHQL_TEXT_BYTES = 4 * 1024 * 1024;
/**
 * Files of an agent's directory whose text is fetched together with its manifest, before anyone
 * asks (the prompts a manifest names are known only once its text is parsed, which would cost a
 * query of its own). Small and bounded, so that a directory stuffed with files costs no more
 * than this; anything beyond it is still read, on demand.
 */
const PREFETCH_FILE_BYTES = 64 * 1024;
const PREFETCH_FILES = 32;

// One listing reaches three levels below the directory asked for: agents/<id>/, its prompts/
// folder and one folder below that, which is where an agent's files live. The selection is a
// fragment, named once per query: each alias then costs a few dozen bytes of query text.
const BLOB_FIELDS = "... on Blob { oid byteSize isBinary }";
const LEVEL3 = `entries { name type mode object { __typename ${BLOB_FIELDS} } }`;
const LEVEL2 = `entries { name type mode object { __typename ${BLOB_FIELDS} ... on Tree { ${LEVEL3} } } }`;
const LEVEL1 = `entries { name type mode object { __typename ${BLOB_FIELDS} ... on Tree { ${LEVEL2} } } }`;
const LISTING_FRAGMENT = `fragment Listing on GitObject { __typename ... on Tree { ${LEVEL1} } }`;
const TEXT_FRAGMENT = "fragment Text on GitObject { __typename ... on Blob { text isBinary } }";

/** How a waiter names its object: a revision expression ("<commit>:<path>") or a blob id. */
interface ObjectName {
  readonly argument: "expression" | "oid";
  readonly value: string;
}

interface Waiter<T> {
  readonly name: ObjectName;
  /** What the object is, for an error that must name it: "<path> at <commit>". */
  readonly label: string;
  /** Expected response size in bytes (file texts); 0 when unknown or small. */
  readonly bytes: number;
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
}

/** A repository field another reader asked to have carried by the next listing query. */
interface FieldRequest {
  readonly alias: string;
  readonly selection: string;
  readonly variables: Readonly<Record<string, { readonly type: string; readonly value: unknown }>>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** Alias and variable names that cannot collide with the loader's own (d0, f0, e0…). */
const FIELD_NAME = /^[a-z][A-Za-z]{2,40}$/;

/**
 * Reads files at any number of commits of one repository through GitHub's GraphQL API. Requests
 * made in the same turn of the event loop, from any commit, are merged into one query (up to
 * GRAPHQL_BATCH aliases and GRAPHQL_TEXT_BYTES each), so checking a pull request's base and head
 * together costs two queries however many agents it touches (up to the batch size):
 *
 *   1. directory listings with blob id, mode and size, three levels deep (modes tell symlinks
 *      from files; sizes let oversized files be refused unread), and any repository fields other
 *      readers asked for in the same turn (see field: the commits, the check suites, the
 *      inventory);
 *   2. the manifests' text, together with the other small files of each agent directory listed
 *      (its prompts), read by blob id: a file unchanged between base and head is read once.
 *
 * A file the prefetch left out (a large prompt, a directory of many files) costs a third query.
 *
 * This matters beyond the rate limit: Octokit's throttling serialises GraphQL requests at least
 * a second apart. Paths are passed as GraphQL *variables*, never inside the query text: they come
 * from pull requests and are attacker-controlled.
 */
export class GraphqlFileLoader {
  private readonly listings = new Map<string, Promise<Map<string, ListedEntry> | null>>();
  /** Keyed by blob id, or by "<commit>:<path>" for texts asked for without a listing. */
  private readonly texts = new Map<string, Promise<BlobResult>>();
  private pendingListings: Waiter<TreeResult>[] = [];
  private pendingTexts: Waiter<BlobResult>[] = [];
  private pendingFields: FieldRequest[] = [];
  private scheduled = false;
  /** Aliases per query: GRAPHQL_BATCH until GitHub gives up on a batch, then the half that passed. */
  private batchSize = GRAPHQL_BATCH;
  /** GraphQL requests made so far. */
  requests = 0;

  constructor(
    private readonly client: GraphqlClient,
    private readonly owner: string,
    private readonly repo: string,
  ) {}

  /** A RepoReader for one commit, sharing this loader's batches and cache. */
  at(commit: string): RepoReader {
    return { read: (paths, maxBytes) => this.read(commit, paths, maxBytes) };
  }

  async read(commit: string, paths: readonly string[], maxBytes: number): Promise<ReadonlyMap<string, RepoEntry>> {
    const unique = [...new Set(paths)];
    const entries = await Promise.all(unique.map((path) => this.entry(commit, path)));
    const out = new Map<string, RepoEntry>();
    const fetches: Promise<void>[] = [];
    unique.forEach((path, i) => {
      const entry = entries[i];
      if (!entry) out.set(path, { kind: "missing" });
      else if (entry.type === "tree") out.set(path, { kind: "directory" });
      else if (entry.type !== "blob" || entry.object?.__typename !== "Blob") out.set(path, { kind: "missing" });
      else if (entry.mode !== SYMLINK_MODE && (entry.object.byteSize ?? 0) > maxBytes) out.set(path, { kind: "too-large", size: entry.object.byteSize ?? 0 });
      else if (entry.mode !== SYMLINK_MODE && entry.object.isBinary) out.set(path, { kind: "binary" });
      else {
        fetches.push(
          this.text(nameOf(commit, path, entry), entry.object.byteSize ?? 0, labelOf(commit, path)).then((blob) => {
            if (blob?.__typename !== "Blob") out.set(path, { kind: "missing" });
            else if (entry.mode === SYMLINK_MODE) out.set(path, { kind: "symlink", target: blob.text ?? "" });
            else if (blob.isBinary || typeof blob.text !== "string") out.set(path, { kind: "binary" });
            else out.set(path, { kind: "file", bytes: new TextEncoder().encode(blob.text) });
          }),
        );
      }
    });
    await Promise.all(fetches);
    const ordered = new Map<string, RepoEntry>();
    for (const path of paths) ordered.set(path, out.get(path) ?? { kind: "missing" });
    return ordered;
  }

  /** The listing entry for a path, from the deep listing of its agent directory when possible. */
  private async entry(commit: string, path: string): Promise<ListedEntry | undefined> {
    const segments = path.split("/");
    // agents/<id>/... is listed from agents/<id>; anything else from its own parent directory.
    const anchor = segments.length >= 3 && segments.length <= 5 ? segments.slice(0, 2).join("/") : posix.dirname(path);
    let node: ListedEntry | undefined;
    let listing = await this.listing(commit, anchor);
    const rest = path.slice(anchor.length + 1).split("/");
    for (const [i, name] of rest.entries()) {
      node = listing?.get(name);
      if (!node) return undefined;
      if (i < rest.length - 1) {
        if (node.type !== "tree") return undefined;
        listing = node.object?.entries ? new Map(node.object.entries.map((e) => [e.name, e])) : null;
        if (!listing) return undefined;
      }
    }
    return node;
  }

  private listing(commit: string, dir: string): Promise<Map<string, ListedEntry> | null> {
    const key = `${commit}:${dir}`;
    let found = this.listings.get(key);
    if (!found) {
      found = new Promise<TreeResult>((resolve, reject) => {
        this.pendingListings.push({ name: { argument: "expression", value: key }, label: labelOf(commit, dir), bytes: 0, resolve, reject });
        this.schedule();
      }).then((tree) => {
        if (tree?.__typename !== "Tree" || !tree.entries) return null;
        if (isAgentDirectory(dir)) this.prefetch(commit, dir, tree.entries);
        return new Map(tree.entries.map((e) => [e.name, e]));
      });
      this.listings.set(key, found);
    }
    return found;
  }

  private text(name: ObjectName, bytes: number, label: string): Promise<BlobResult> {
    let found = this.texts.get(name.value);
    if (!found) {
      found = new Promise<BlobResult>((resolve, reject) => {
        this.pendingTexts.push({ name, label, bytes, resolve, reject });
        this.schedule();
      });
      this.texts.set(name.value, found);
    }
    return found;
  }

  /**
   * Asks for the text of an agent directory's small files as soon as it is listed, so that
   * they travel in the same query as its manifest. Called in the turn the listing arrives, the
   * same turn in which the readers waiting on it ask for their manifests.
   */
  private prefetch(commit: string, dir: string, entries: readonly ListedEntry[]): void {
    let budget = PREFETCH_FILES;
    const visit = (at: string, list: readonly ListedEntry[]): void => {
      for (const e of list) {
        if (budget === 0) return;
        const object = e.object;
        if (e.type === "tree" && object?.entries) visit(`${at}/${e.name}`, object.entries);
        else if (e.type === "blob" && e.mode !== SYMLINK_MODE && object?.__typename === "Blob" && object.oid && !object.isBinary && (object.byteSize ?? 0) <= PREFETCH_FILE_BYTES) {
          budget--;
          // Nobody may ever ask for it; a failure reaches those who do.
          this.text({ argument: "oid", value: object.oid }, object.byteSize ?? 0, labelOf(commit, `${at}/${e.name}`)).catch(() => undefined);
        }
      }
    };
    visit(dir, entries);
  }

  /**
   * Texts of files at a commit, read like the manifests are (in the same batches): null for a
   * path that is not a readable text file there. For readers outside the RepoReader seam, such as
   * the inventory's identities.
   */
  async readTexts(commit: string, paths: readonly string[]): Promise<Map<string, string | null>> {
    const blobs = await Promise.all(paths.map((path) => this.text({ argument: "expression", value: `${commit}:${path}` }, 0, labelOf(commit, path))));
    return new Map(paths.map((path, i) => {
      const blob = blobs[i];
      return [path, blob?.__typename === "Blob" && typeof blob.text === "string" && !blob.isBinary ? blob.text : null];
    }));
  }

  /**
   * Has a field of the repository (`selection`, using `variables`) carried by the next listing
   * query, so that facts read beside the files cost no request of their own. The selection is
   * the caller's constant text; everything taken from a pull request travels in `variables`.
   */
  field<T>(alias: string, selection: string, variables: Readonly<Record<string, { readonly type: string; readonly value: unknown }>>): Promise<T> {
    for (const name of [alias, ...Object.keys(variables)]) {
      if (!FIELD_NAME.test(name)) throw new Error(`charter: GraphQL name ${JSON.stringify(name)} is not a plain word`);
    }
    return new Promise<T>((resolve, reject) => {
      this.pendingFields.push({ alias, selection, variables, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Waits for the current turn to finish so that concurrent readers' requests share a query. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const listings = this.pendingListings.splice(0);
      const texts = this.pendingTexts.splice(0);
      const fields = this.pendingFields.splice(0);
      void this.flush(listings, "d", "Listing", LISTING_FRAGMENT, fields);
      void this.flush(texts, "f", "Text", TEXT_FRAGMENT);
    });
  }

  /** Sends the waiters in batches; `fields` ride along with the first batch (or alone, when there are no waiters). */
  private async flush<T>(waiters: Waiter<T>[], alias: string, fragmentName: string, fragment: string, fields: readonly FieldRequest[] = []): Promise<void> {
    if (waiters.length === 0 && fields.length === 0) return;
    await this.sendInBatches({ alias, fragmentName, fragment }, waiters, fields);
  }

  /**
   * Sends `waiters` in batches of the current size, read again before each batch: a split
   * further down shrinks the batches that follow.
   */
  private async sendInBatches<T>(shape: QueryShape, waiters: readonly Waiter<T>[], fields: readonly FieldRequest[]): Promise<void> {
    let rest = waiters;
    let extra = fields;
    do {
      const batch = firstBatch(rest, this.batchSize);
      rest = rest.slice(batch.length);
      await this.send(shape, batch, extra);
      extra = [];
    } while (rest.length > 0);
  }

  /**
   * One query. When GitHub gives up on it as too costly, its batch is split in halves, each sent
   * on its own, and the half size kept for every later batch; the depth is bounded by halving
   * (at most log2(GRAPHQL_BATCH) levels), and a single object GitHub still gives up on is an
   * error naming it.
   */
  private async send<T>(shape: QueryShape, batch: readonly Waiter<T>[], extra: readonly FieldRequest[]): Promise<void> {
    let result: Record<string, unknown>;
    try {
      result = await this.query<Record<string, unknown>>(
        batch.map((w) => w.name),
        batch.map((w, k) => `${shape.alias}${k}: object(${w.name.argument}: $e${k}) { ...${shape.fragmentName} }`),
        batch.length > 0 ? shape.fragment : "",
        extra,
      );
    } catch (error) {
      const costly = tooCostly(error);
      if (costly !== undefined && batch.length > 1) {
        this.batchSize = Math.min(this.batchSize, Math.ceil(batch.length / 2));
        await this.sendInBatches(shape, batch, extra);
        return;
      }
      const reason = costly !== undefined && batch[0] !== undefined ? objectTooCostly(batch[0].label, costly, error) : error;
      for (const w of batch) w.reject(reason);
      for (const f of extra) f.reject(reason);
      return;
    }
    batch.forEach((w, k) => {
      w.resolve(result[`${shape.alias}${k}`] as T);
    });
    for (const f of extra) f.resolve(result[f.alias]);
  }

  private async query<T>(names: readonly ObjectName[], fields: readonly string[], fragment: string, extra: readonly FieldRequest[]): Promise<T> {
    const declarations = [
      ...names.map((n, k) => `$e${k}: ${n.argument === "oid" ? "GitObjectID!" : "String!"}`),
      ...extra.flatMap((f) => Object.entries(f.variables).map(([name, v]) => `$${name}: ${v.type}`)),
    ];
    const selections = [...fields, ...extra.map((f) => `${f.alias}: ${f.selection}`)];
    const query = `query CharterRead($owner: String!, $name: String!${declarations.map((d) => `, ${d}`).join("")}) { repository(owner: $owner, name: $name) { ${selections.join(" ")} } }${fragment ? ` ${fragment}` : ""}`;
    const variables: Record<string, unknown> = { owner: this.owner, name: this.repo };
    names.forEach((n, k) => (variables[`e${k}`] = n.value));
    for (const f of extra) for (const [name, v] of Object.entries(f.variables)) variables[name] = v.value;
    this.requests++;
    const result = await this.client.graphql<{ repository: T | null }>(query, variables);
    if (!result.repository) throw new Error(`repository ${this.owner}/${this.repo} is not visible to the app`);
    return result.repository;
  }
}

/** The parts of a query that depend on what it reads: listings or texts. */
interface QueryShape {
  readonly alias: string;
  readonly fragmentName: string;
  readonly fragment: string;
}

const COSTLY_TYPES = new Set(["RESOURCE_LIMITS_EXCEEDED", "MAX_NODE_LIMIT_EXCEEDED"]);

/**
 * How GitHub says it gave up on a query for what it costs, or undefined for any other failure:
 * its gateway's 504, its timeout message ("Something went wrong while executing your query. This
 * may be the result of a timeout…", with status 200 or 502), or a resource limit's error type. A
 * 502 without that message is an outage, not a verdict on the query: splitting would only
 * multiply the requests, so it fails the check as before. Octokit reports GraphQL errors as
 * `errors` (status 200) and an HTTP failure as `status` with the body in `response.data`.
 */
function tooCostly(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { status, errors, response } = error as { status?: unknown; errors?: unknown; response?: { data?: { errors?: unknown } } };
  if (status === 504) return "HTTP 504";
  const reported = status === 502 ? response?.data?.errors : errors;
  if (!Array.isArray(reported)) return undefined;
  for (const e of reported as { type?: unknown; message?: unknown }[]) {
    if (typeof e.type === "string" && COSTLY_TYPES.has(e.type)) return e.type;
    if (typeof e.message === "string" && /may be the result of a timeout/i.test(e.message)) return status === 502 ? "HTTP 502, a timeout" : "a timeout";
  }
  return undefined;
}

function objectTooCostly(label: string, how: string, cause: unknown): CharterError {
  return new CharterError("GITHUB_LIMIT", `GitHub gave up reading ${label} through GraphQL even on its own (${how})`, {
    cause,
    hint: "Retry later; if it persists, the object is too large for GitHub's GraphQL API to return within its limits.",
  });
}

function labelOf(commit: string, path: string): string {
  return `${path} at ${commit}`;
}

/** A listed file's text is named by its blob id, so that one blob at two commits is read once. */
function nameOf(commit: string, path: string, entry: ListedEntry): ObjectName {
  const oid = entry.object?.oid;
  return oid ? { argument: "oid", value: oid } : { argument: "expression", value: `${commit}:${path}` };
}

/** agents/<id>: the directories whose small files are prefetched. */
function isAgentDirectory(dir: string): boolean {
  const segments = dir.split("/");
  return segments.length === 2 && segments[0] === AGENTS_DIRECTORY;
}

/** The first query's worth of requests: at most `size` aliases and GRAPHQL_TEXT_BYTES of text (one request at least). */
function firstBatch<T>(waiters: readonly Waiter<T>[], size: number): readonly Waiter<T>[] {
  let bytes = 0;
  let count = 0;
  for (const w of waiters) {
    if (count > 0 && (count >= size || bytes + w.bytes > GRAPHQL_TEXT_BYTES)) break;
    count++;
    bytes += w.bytes;
  }
  return waiters.slice(0, count);
}
