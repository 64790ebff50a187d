import { AGENTS_DIRECTORY } from "../change/governed-paths.js";
import type { IdentityCache } from "../manifest/inventory-identities.js";
import { DEFAULT_LIMITS } from "../manifest/limits.js";
import type { CommitReader } from "./commit-reader.js";

/** The GitHub identity of every agent whose manifest is in the inventory at the reader's commit. */
export async function inventoryIdentitiesAt(reader: CommitReader, cache: IdentityCache): Promise<string[]> {
  const blobs = await reader.inventoryManifests(AGENTS_DIRECTORY);
  const found = await cache.identities(blobs, async (paths) => {
    const entries = await reader.read(paths, DEFAULT_LIMITS.maxManifestBytes);
    const decoder = new TextDecoder();
    return new Map(paths.map((path) => {
      const entry = entries.get(path);
      return [path, entry?.kind === "file" ? decoder.decode(entry.bytes) : null] as const;
    }));
  });
  return found.identities;
}
