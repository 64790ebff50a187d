import { CharterError } from "../errors.js";
import { openCheckpoint, signCheckpoint } from "../evidence/checkpoint.js";
import { appendLeaf, EMPTY_FRONTIER, type Frontier, frontierRoot, type Hash, isPowerOfTwo, largestPowerOfTwoBelow, nodeHash, rootOf } from "../evidence/merkle.js";

/**
 * Segments: the trail's events sealed in ranges. The trail is one RFC 6962 Merkle tree whose
 * leaves are the events' chain hashes (already leaf hashes, see event-bytes.ts); sealing a
 * segment signs a C2SP checkpoint of the whole tree at the segment's last seq, with the evidence
 * ledger's key and formats, under the trail's own origin (charter-trail/<id>), so a checkpoint
 * of the trail can never pass for one of the ledger. The roots of complete 4096-leaf subtrees
 * (tiles) are kept, so that an inclusion proof in a tree of twenty million leaves reads a few
 * thousand hashes, not all of them.
 */
export const TILE_LEAVES = 4096;

export interface SealInput {
  readonly origin: string;
  readonly index: number;
  /** The tree before this segment. */
  readonly frontier: Frontier;
  /** Chain hashes of the segment's events, seqs frontier.size + 1 onwards. */
  readonly leaves: readonly Hash[];
  readonly signerKey: string;
  readonly sealedAt: string;
  /** Leaves of the partly filled tile before this segment (for the tiles it completes). */
  readonly pendingTileLeaves: readonly Hash[];
}

export interface SealedSegment {
  readonly index: number;
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly root: string;
  readonly checkpoint: string;
  readonly sealedAt: string;
  readonly frontier: Frontier;
  readonly tiles: readonly { index: number; hash: Buffer }[];
}

export function sealSegment(input: SealInput): SealedSegment {
  if (input.leaves.length === 0) throw new CharterError("INTERNAL", "a segment holds at least one event");
  let frontier = input.frontier;
  const tiles: { index: number; hash: Buffer }[] = [];
  let tile: Hash[] = [...input.pendingTileLeaves];
  if (tile.length !== frontier.size % TILE_LEAVES) throw new CharterError("INTERNAL", "the pending tile does not match the tree size");
  for (const leaf of input.leaves) {
    frontier = appendLeaf(frontier, leaf);
    tile.push(leaf);
    if (tile.length === TILE_LEAVES) {
      tiles.push({ index: frontier.size / TILE_LEAVES - 1, hash: Buffer.from(rootOf(tile)) });
      tile = [];
    }
  }
  const root = frontierRoot(frontier);
  const checkpoint = signCheckpoint({ origin: input.origin, size: frontier.size, root, extensions: [] }, [input.signerKey]);
  return {
    index: input.index,
    fromSeq: input.frontier.size + 1,
    toSeq: frontier.size,
    root: Buffer.from(root).toString("hex"),
    checkpoint,
    sealedAt: input.sealedAt,
    frontier,
    tiles,
  };
}

export function formatFrontier(frontier: Frontier): string {
  return JSON.stringify({ size: frontier.size, nodes: frontier.nodes.map((n) => Buffer.from(n).toString("hex")) });
}

export function parseFrontier(text: string | null): Frontier {
  if (text === null) return EMPTY_FRONTIER;
  const value = JSON.parse(text) as { size: number; nodes: string[] };
  return { size: value.size, nodes: value.nodes.map((n) => new Uint8Array(Buffer.from(n, "hex"))) };
}

/** Reads what a proof needs: leaf hashes of a seq range, and tile roots by index. */
export interface TreeReader {
  leaves(fromSeq: number, toSeq: number): Promise<readonly Hash[]>;
  tiles(from: number, to: number): Promise<ReadonlyMap<number, Hash>>;
}

/** RFC 9162 §2.1.3.1 audit path for leaf `index` (0-based) in the tree of the first `size` leaves, nearest sibling first. */
export async function inclusionProofFor(index: number, size: number, tree: TreeReader): Promise<Hash[]> {
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new CharterError("OUT_OF_RANGE", `leaf ${index} is outside a tree of ${size} leaves`);
  const path = async (m: number, start: number, n: number): Promise<Hash[]> => {
    if (n === 1) return [];
    const k = largestPowerOfTwoBelow(n);
    if (m < k) return [...(await path(m, start, k)), await subtreeRoot(start + k, start + n, tree)];
    return [...(await path(m - k, start + k, n - k)), await subtreeRoot(start, start + k, tree)];
  };
  return path(index, 0, size);
}

/** MTH of leaves [start, end) (0-based), from tiles where a whole aligned tile range is covered. */
async function subtreeRoot(start: number, end: number, tree: TreeReader): Promise<Hash> {
  const n = end - start;
  if (n >= TILE_LEAVES && start % TILE_LEAVES === 0 && isPowerOfTwo(n)) {
    const first = start / TILE_LEAVES;
    const count = n / TILE_LEAVES;
    const tiles = await tree.tiles(first, first + count - 1);
    const roots: Hash[] = [];
    for (let i = first; i < first + count; i++) {
      const t = tiles.get(i);
      if (t === undefined) throw new CharterError("NOT_FOUND", `tile ${i} of the trail's tree is missing: seal the trail first`);
      roots.push(t);
    }
    return rootOf(roots);
  }
  if (n <= TILE_LEAVES) return rootOf(await tree.leaves(start + 1, end));
  const k = largestPowerOfTwoBelow(n);
  return nodeHash(await subtreeRoot(start, start + k, tree), await subtreeRoot(start + k, end, tree));
}

/** Opens a trail checkpoint: signed by a trusted key, for this trail's origin. */
export function openTrailCheckpoint(note: string, verifierKeys: readonly string[], origin: string): { size: number; root: string } {
  const checkpoint = openCheckpoint(note, verifierKeys);
  if (checkpoint.origin !== origin) throw new CharterError("INVALID_SIGNATURE", `the checkpoint is for ${checkpoint.origin}, not this trail (${origin})`);
  return { size: checkpoint.size, root: Buffer.from(checkpoint.root).toString("hex") };
}
