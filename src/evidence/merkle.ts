import { hash } from "node:crypto";
import { CharterError } from "../errors.js";

/**
 * The RFC 6962 / RFC 9162 §2.1 Merkle tree over the ledger's records. The 0x00 and 0x01
 * prefixes keep a leaf from being passed off as an interior node. Hashes are 32-byte arrays.
 */
export type Hash = Uint8Array;

const LEAF = Uint8Array.of(0x00);
const NODE = Uint8Array.of(0x01);

export const EMPTY_ROOT: Hash = sha256(new Uint8Array(0));

// Node's one-shot hash is three times slower asked for a Buffer than for a string (a slow path
// for the encoding name); every byte of the digest survives "binary" (latin1), so it is taken as that.
export function sha256(data: Uint8Array): Hash {
  return Buffer.from(hash("sha256", data, "binary"), "latin1");
}

/** SHA-256 in lowercase hex, as hash chains and records name it, without a Buffer between. */
export function sha256Hex(data: Uint8Array): string {
  return hash("sha256", data, "hex");
}

// Reused input for leaves up to 64 KiB (every record so far): verify hashes every record as a
// leaf, and allocating a concatenation for each was a third of that hash's cost. A larger leaf
// takes a concatenation of its own rather than keeping a large buffer alive.
const leafInput = new Uint8Array(65536 + 1);
const leafText = leafInput.subarray(1);
const encoder = new TextEncoder();

export function leafHash(data: Uint8Array): Hash {
  if (data.length >= leafInput.length) return sha256(Buffer.concat([LEAF, data]));
  leafInput[0] = 0x00;
  leafInput.set(data, 1);
  return sha256(leafInput.subarray(0, data.length + 1));
}

/**
 * leafHash of a string's UTF-8 bytes, encoded straight into the reused input: verify hashes a
 * leaf for every file of every change record, and an encoded copy of each was garbage.
 */
export function leafHashOfText(text: string): Hash {
  // A UTF-16 code unit takes at most 3 bytes of UTF-8, so a text this short cannot be cut off.
  if (text.length * 3 >= leafInput.length) return leafHash(encoder.encode(text));
  const { written } = encoder.encodeInto(text, leafText);
  return sha256(leafInput.subarray(0, written + 1));
}

// Reused input for interior nodes: trail verify hashes one per event, and a concatenation each showed in its profile.
const nodeInput = new Uint8Array(65);

export function nodeHash(left: Hash, right: Hash): Hash {
  if (left.length !== 32 || right.length !== 32) return sha256(Buffer.concat([NODE, left, right]));
  nodeInput[0] = 0x01;
  nodeInput.set(left, 1);
  nodeInput.set(right, 33);
  return sha256(nodeInput);
}

/**
 * The tree head of the leaves, level by level: pairing neighbours and carrying an odd last node
 * up unchanged builds exactly the tree the RFC defines by splitting at the largest power of two
 * below n, in O(n) hashes and without recursion.
 */
export function rootOf(leafHashes: readonly Hash[]): Hash {
  if (leafHashes.length === 0) return EMPTY_ROOT;
  let level = leafHashes;
  while (level.length > 1) level = nextLevel(level);
  return level[0] ?? EMPTY_ROOT;
}

function nextLevel(level: readonly Hash[]): Hash[] {
  const up: Hash[] = [];
  for (let i = 0; i + 1 < level.length; i += 2) up.push(nodeHash(at(level, i), at(level, i + 1)));
  if (level.length % 2 === 1) up.push(at(level, level.length - 1));
  return up;
}

/** The audit path for leaf `index` (RFC 9162 §2.1.3.1), nearest sibling first. */
export function inclusionProof(index: number, leafHashes: readonly Hash[]): Hash[] {
  const n = leafHashes.length;
  if (!Number.isSafeInteger(index) || index < 0 || index >= n) {
    throw new CharterError("OUT_OF_RANGE", `leaf index ${index} is outside a tree of ${n} leaves`);
  }
  const proof: Hash[] = [];
  let level = leafHashes;
  let i = index;
  while (level.length > 1) {
    const sibling = i % 2 === 1 ? i - 1 : i + 1;
    // A node without a right neighbour is carried up unchanged: no proof element at this level.
    if (sibling < level.length) proof.push(at(level, sibling));
    level = nextLevel(level);
    i = Math.floor(i / 2);
  }
  return proof;
}

/** RFC 9162 §2.1.3.2. Proof, hashes and sizes are untrusted input: every shape error is `false`. */
export function verifyInclusion(index: number, size: number, leaf: Hash, proof: readonly Hash[], root: Hash): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (leaf.length !== 32 || root.length !== 32 || proof.some((p) => p.length !== 32)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalHashes(r, root);
}

/** The consistency proof between the first m leaves and all of them (RFC 9162 §2.1.4.1). */
export function consistencyProof(m: number, leafHashes: readonly Hash[]): Hash[] {
  const n = leafHashes.length;
  if (!Number.isSafeInteger(m) || m < 0 || m > n) {
    throw new CharterError("OUT_OF_RANGE", `tree size ${m} is outside 0..${n}`);
  }
  if (m === 0 || m === n) return [];
  return subproof(m, leafHashes, 0, n, true);
}

function subproof(m: number, leaves: readonly Hash[], start: number, end: number, whole: boolean): Hash[] {
  const n = end - start;
  if (m === n) return whole ? [] : [rootOf(leaves.slice(start, end))];
  const k = largestPowerOfTwoBelow(n);
  if (m <= k) return [...subproof(m, leaves, start, start + k, whole), rootOf(leaves.slice(start + k, end))];
  return [...subproof(m - k, leaves, start + k, end, false), rootOf(leaves.slice(start, start + k))];
}

/** RFC 9162 §2.1.4.2: does the tree of size n with rootN extend the tree of size m with rootM? */
export function verifyConsistency(m: number, n: number, rootM: Hash, rootN: Hash, proof: readonly Hash[]): boolean {
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n) || m < 0 || m > n) return false;
  if (rootM.length !== 32 || rootN.length !== 32 || proof.some((p) => p.length !== 32)) return false;
  if (m === n) return proof.length === 0 && equalHashes(rootM, rootN);
  if (m === 0) return proof.length === 0;
  const path = isPowerOfTwo(m) ? [rootM, ...proof] : [...proof];
  const first = path[0];
  if (first === undefined) return false;
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = first;
  let sr = first;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalHashes(fr, rootM) && equalHashes(sr, rootN);
}

/**
 * A compact range: the roots of the perfect subtrees that make up a tree of `size` leaves,
 * largest first (one per set bit of size). It lets the writer append in O(log n) and compute
 * the new root without holding every leaf.
 */
export interface Frontier {
  readonly size: number;
  readonly nodes: readonly Hash[];
}

export const EMPTY_FRONTIER: Frontier = { size: 0, nodes: [] };

export function appendLeaf(frontier: Frontier, leaf: Hash): Frontier {
  const nodes = [...frontier.nodes];
  let carry = leaf;
  // Each trailing 1-bit of the old size is a full subtree of the new leaf's height: merge it.
  for (let s = frontier.size; s % 2 === 1; s = Math.floor(s / 2)) {
    const left = nodes.pop();
    if (left === undefined) throw new CharterError("INTERNAL", "frontier does not match its size");
    carry = nodeHash(left, carry);
  }
  nodes.push(carry);
  return { size: frontier.size + 1, nodes };
}

export function frontierRoot(frontier: Frontier): Hash {
  let acc: Hash | undefined;
  for (let i = frontier.nodes.length - 1; i >= 0; i--) {
    const node = at(frontier.nodes, i);
    acc = acc === undefined ? node : nodeHash(node, acc);
  }
  return acc ?? EMPTY_ROOT;
}

/**
 * The consistency proof from the tree of `old.size` leaves to that tree extended by `added`
 * (RFC 9162 §2.1.4.1), from the old tree's compact range and the new leaves alone: a witness that
 * kept the compact range of the tree it last cosigned needs no earlier leaf. Every node the
 * proof names lies wholly in the old tree, where it is a run of compact-range nodes, or wholly
 * among the new leaves.
 */
export function consistencyProofFromFrontier(old: Frontier, added: readonly Hash[]): Hash[] {
  const m = old.size;
  const n = m + added.length;
  if (m === 0 || added.length === 0) return [];
  // The compact range: one perfect subtree per set bit of m, largest first.
  const spans: { start: number; end: number }[] = [];
  let start = 0;
  for (let bit = 2 ** Math.floor(Math.log2(m)); bit >= 1; bit /= 2) {
    if ((Math.floor(m / bit) & 1) === 0) continue;
    spans.push({ start, end: start + bit });
    start += bit;
  }
  if (spans.length !== old.nodes.length) throw new CharterError("INTERNAL", "frontier does not match its size");
  const rangeRoot = (from: number, to: number): Hash => {
    if (from >= m) return rootOf(added.slice(from - m, to - m));
    const first = spans.findIndex((s) => s.start === from);
    const last = spans.findIndex((s) => s.end === to);
    if (first < 0 || last < first) throw new CharterError("INTERNAL", `no compact-range nodes span leaves ${from}..${to}`);
    let acc = at(old.nodes, last);
    for (let i = last - 1; i >= first; i--) acc = nodeHash(at(old.nodes, i), acc);
    return acc;
  };
  const proof: Hash[] = [];
  // SUBPROOF(m, D[start:end], whole), with absolute leaf offsets; m stays start + (relative m).
  const sub = (from: number, to: number, whole: boolean): void => {
    const size = to - from;
    const rel = m - from;
    if (rel === size) {
      if (!whole) proof.push(rangeRoot(from, to));
      return;
    }
    const k = largestPowerOfTwoBelow(size);
    if (rel <= k) {
      sub(from, from + k, whole);
      proof.push(rangeRoot(from + k, to));
    } else {
      sub(from + k, to, false);
      proof.push(rangeRoot(from, from + k));
    }
  };
  sub(0, n, true);
  return proof;
}

export function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** RFC 6962's split point of a tree of n > 1 leaves: the largest power of two below n. */
export function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

function at(list: readonly Hash[], i: number): Hash {
  const h = list[i];
  if (h === undefined) throw new CharterError("INTERNAL", `tree node ${i} is missing`);
  return h;
}
