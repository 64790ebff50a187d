import { AGENTS_DIRECTORY } from "../../change/governed-paths.js";
import { MANIFEST_FILE_NAMES } from "../../manifest/lints/location.js";
import { type IdentityCache, type ManifestBlob } from "../../manifest/inventory-identities.js";
import type { GraphqlFileLoader } from "./graphql-file-loader.js";

interface Listed {
  readonly name: string;
  readonly type: string;
  readonly mode?: number;
  readonly oid?: string;
  readonly object?: { readonly entries?: readonly Listed[] } | null;
}

// Git's mode for a symbolic link (0o120000): its blob is a path, not a manifest.
const SYMLINK_MODE = 40960;
/** agents/ and each agent's directory, with every entry's blob id: names and ids only, no content. */
const INVENTORY_SELECTION = `object(expression: $inventoryTree) { __typename ... on Tree { entries { name type object { __typename ... on Tree { entries { name type mode oid } } } } } }`;

export interface InventoryIdentities {
  readonly identities: readonly string[];
  /** Manifests listed, and how many of them had to be read (the rest were known by blob id). */
  readonly manifests: number;
  readonly fetched: number;
}

/**
 * The GitHub identity of every agent in the inventory at a commit, not only the agents a pull
 * request touches: no agent's own account may ever approve.
 *
 * Cost: the listing of agents/ (two levels, names and blob ids) rides along in the first query
 * the check already makes, so with a warm cache this costs no request at all. Manifests are
 * read only when their blob id was never seen (a blob id names its content, so what it declares
 * never changes), in the same batches (of up to 2,500) as the pull request's own manifests: a cold
 * cache on a repository of N agents costs about N / 2,500 more queries, once per process.
 */
export async function readInventoryIdentities(loader: GraphqlFileLoader, commit: string, cache: IdentityCache): Promise<InventoryIdentities> {
  const tree = await loader.field<{ readonly entries?: readonly Listed[] } | null>("inventory", INVENTORY_SELECTION, {
    inventoryTree: { type: "String!", value: `${commit}:${AGENTS_DIRECTORY}` },
  });
  const blobs: ManifestBlob[] = [];
  for (const dir of tree?.entries ?? []) {
    if (dir.type !== "tree") continue;
    for (const file of dir.object?.entries ?? []) {
      if (file.type === "blob" && file.mode !== SYMLINK_MODE && file.oid && MANIFEST_FILE_NAMES.includes(file.name)) {
        blobs.push({ path: `${AGENTS_DIRECTORY}/${dir.name}/${file.name}`, oid: file.oid });
      }
    }
  }
  const found = await cache.identities(blobs, (paths) => loader.readTexts(commit, paths));
  return { identities: found.identities, manifests: blobs.length, fetched: found.fetched };
}
