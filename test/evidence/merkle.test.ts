import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  appendLeaf,
  consistencyProof,
  EMPTY_FRONTIER,
  EMPTY_ROOT,
  type Frontier,
  frontierRoot,
  type Hash,
  inclusionProof,
  leafHash,
  leafHashOfText,
  rootOf,
  sha256,
  sha256Hex,
  verifyConsistency,
  verifyInclusion,
} from "../../src/evidence/merkle.js";

const hex = (h: Uint8Array): string => Buffer.from(h).toString("hex");
const dh = (s: string): Hash => Uint8Array.from(Buffer.from(s, "hex"));

// Test vectors carried over (as data) from transparency-dev/merkle, proof/verify_test.go:
// the eight leaves, the roots of the trees of size 1..8, and known inclusion and consistency proofs.
const LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map(dh);
const ROOTS = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
// { leaf (1-based, as in the source), size, proof }
const INCLUSION: readonly { leaf: number; size: number; proof: string[] }[] = [
  { leaf: 1, size: 1, proof: [] },
  {
    leaf: 1,
    size: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    leaf: 6,
    size: 8,
    proof: [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  { leaf: 3, size: 3, proof: ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
  {
    leaf: 2,
    size: 5,
    proof: [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
];
const CONSISTENCY: readonly { m: number; n: number; proof: string[] }[] = [
  { m: 1, n: 1, proof: [] },
  {
    m: 1,
    n: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    m: 6,
    n: 8,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  {
    m: 2,
    n: 5,
    proof: [
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
  {
    m: 6,
    n: 7,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];
const LEAF_HASHES = LEAVES.map(leafHash);
const root = (size: number): Hash => dh(ROOTS[size - 1] ?? "");

function flipBit(proof: readonly Hash[], i: number, bit: number): Hash[] {
  return proof.map((p, j) => {
    if (j !== i) return p;
    const copy = Uint8Array.from(p);
    copy[0] = (copy[0] ?? 0) ^ (1 << bit);
    return copy;
  });
}

describe("RFC 6962 hashing against transparency-dev/merkle's vectors", () => {
  it("the empty tree's root is SHA-256 of nothing", () => {
    expect(hex(rootOf([]))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(hex(EMPTY_ROOT)).toBe(hex(rootOf([])));
  });

  it.each(ROOTS.map((r, i) => [i + 1, r] as const))("root of the first %i leaves", (size, expected) => {
    expect(hex(rootOf(LEAF_HASHES.slice(0, size)))).toBe(expected);
  });

  it.each(INCLUSION)("inclusion proof for leaf $leaf of $size", ({ leaf, size, proof }) => {
    const leaves = LEAF_HASHES.slice(0, size);
    const index = leaf - 1;
    expect(inclusionProof(index, leaves).map(hex)).toEqual(proof);
    const lh = LEAF_HASHES[index] ?? EMPTY_ROOT;
    expect(verifyInclusion(index, size, lh, proof.map(dh), root(size))).toBe(true);
    // The same corruptions the source's tests apply.
    expect(verifyInclusion(index + 1, size, lh, proof.map(dh), root(size))).toBe(false);
    expect(verifyInclusion(index, size * 2, lh, proof.map(dh), root(size))).toBe(false);
    expect(verifyInclusion(index, size, leafHash(Buffer.from("WrongLeaf")), proof.map(dh), root(size))).toBe(false);
    expect(verifyInclusion(index, size, lh, [...proof.map(dh), root(size)], root(size))).toBe(false);
    expect(verifyInclusion(index, size, lh, [root(size), ...proof.map(dh)], root(size))).toBe(false);
    for (let i = 0; i < proof.length; i++) expect(verifyInclusion(index, size, lh, flipBit(proof.map(dh), i, 3), root(size))).toBe(false);
  });

  it.each(CONSISTENCY)("consistency proof from $m to $n", ({ m, n, proof }) => {
    expect(consistencyProof(m, LEAF_HASHES.slice(0, n)).map(hex)).toEqual(proof);
    expect(verifyConsistency(m, n, root(m), root(n), proof.map(dh))).toBe(true);
    if (proof.length === 0) return;
    expect(verifyConsistency(m, n, root(n), root(m), proof.map(dh))).toBe(false);
    expect(verifyConsistency(m + 1, n, root(m), root(n), proof.map(dh))).toBe(false);
    expect(verifyConsistency(m, n, root(m), root(n), proof.map(dh).slice(0, -1))).toBe(false);
    expect(verifyConsistency(m, n, root(m), root(n), [])).toBe(false);
    for (let i = 0; i < proof.length; i++) expect(verifyConsistency(m, n, root(m), root(n), flipBit(proof.map(dh), i, 4))).toBe(false);
  });

  it("edge cases of consistency, as in the source's TestVerifyConsistency", () => {
    const a = dh(ROOTS[0] ?? "");
    const b = dh(ROOTS[1] ?? "");
    expect(verifyConsistency(0, 0, a, a, [])).toBe(true);
    expect(verifyConsistency(0, 0, a, b, [])).toBe(false);
    expect(verifyConsistency(0, 1, a, b, [])).toBe(true);
    expect(verifyConsistency(1, 0, a, b, [])).toBe(false);
    expect(verifyConsistency(1, 2, a, b, [])).toBe(false);
    expect(verifyConsistency(1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT])).toBe(false);
  });

  it("refuses a proof for a leaf outside the tree", () => {
    expect(() => inclusionProof(8, LEAF_HASHES)).toThrow(/outside/);
    expect(() => consistencyProof(9, LEAF_HASHES)).toThrow(/outside/);
    expect(verifyInclusion(0, 0, EMPTY_ROOT, [], EMPTY_ROOT)).toBe(false);
  });
});

describe("Merkle properties", () => {
  const leavesOf = (n: number): Hash[] => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));

  it("every inclusion proof verifies, and a flipped bit does not", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }).chain((n) => fc.tuple(fc.constant(n), fc.nat(n - 1), fc.nat(255))),
        ([n, index, bit]) => {
          const leaves = leavesOf(n);
          const r = rootOf(leaves);
          const proof = inclusionProof(index, leaves);
          const lh = leaves[index] ?? EMPTY_ROOT;
          expect(verifyInclusion(index, n, lh, proof, r)).toBe(true);
          const flippedLeaf = Uint8Array.from(lh);
          flippedLeaf[bit % 32] = (flippedLeaf[bit % 32] ?? 0) ^ (1 << (bit % 8));
          expect(verifyInclusion(index, n, flippedLeaf, proof, r)).toBe(false);
          if (proof.length > 0) expect(verifyInclusion(index, n, lh, flipBit(proof, bit % proof.length, bit % 8), r)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("every consistency proof verifies, and a flipped bit does not", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 70 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n }), fc.nat(255))),
        ([n, m, bit]) => {
          const leaves = leavesOf(n);
          const proof = consistencyProof(m, leaves);
          const rootM = rootOf(leaves.slice(0, m));
          const rootN = rootOf(leaves);
          expect(verifyConsistency(m, n, rootM, rootN, proof)).toBe(true);
          if (proof.length > 0) expect(verifyConsistency(m, n, rootM, rootN, flipBit(proof, bit % proof.length, bit % 8))).toBe(false);
          if (m < n) {
            const flipped = Uint8Array.from(rootM);
            flipped[bit % 32] = (flipped[bit % 32] ?? 0) ^ (1 << (bit % 8));
            expect(verifyConsistency(m, n, flipped, rootN, proof)).toBe(false);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("appending to a frontier gives the same root as hashing every leaf", () => {
    const leaves = leavesOf(300);
    let frontier: Frontier = EMPTY_FRONTIER;
    expect(hex(frontierRoot(frontier))).toBe(hex(EMPTY_ROOT));
    leaves.forEach((leaf, i) => {
      frontier = appendLeaf(frontier, leaf);
      expect(hex(frontierRoot(frontier)), `size ${i + 1}`).toBe(hex(rootOf(leaves.slice(0, i + 1))));
    });
  });

  it("hashes 100,000 leaves quickly", () => {
    const leaves = leavesOf(100_000);
    const start = performance.now();
    rootOf(leaves);
    expect(performance.now() - start).toBeLessThan(2000);
  });
});

describe("leaf and record hashes from reused buffers", () => {
  // Independent of the module: node:crypto's streaming hash over the RFC 6962 leaf prefix and the bytes.
  const reference = (bytes: Uint8Array): string => createHash("sha256").update(Uint8Array.of(0x00)).update(bytes).digest("hex");

  it("hashes leaves of every size the same as a fresh concatenation, including past the reused buffer", () => {
    for (const size of [0, 1, 2499, 65535, 65536, 65537, 200_000]) {
      const bytes = Uint8Array.from({ length: size }, (_, i) => (i * 31 + size) & 0xff);
      expect(hex(leafHash(bytes)), `size ${size}`).toBe(reference(bytes));
    }
    // A short leaf after a long one: nothing of the longer one's bytes may leak into it.
    expect(hex(leafHash(Uint8Array.of(7)))).toBe(reference(Uint8Array.of(7)));
  });

  it("hashes a text's UTF-8 as a leaf, for short, non-ASCII and long texts", () => {
    for (const text of ["", "a", '["agents/a/agent.yaml","00"]\n', "caf\u00e9 \u2192 \u{1F600}", "x".repeat(21_845), "\u2192".repeat(30_000)]) {
      expect(hex(leafHashOfText(text)), `${text.length} characters`).toBe(reference(new TextEncoder().encode(text)));
    }
  });

  it("gives SHA-256 as bytes and as lowercase hex", () => {
    const bytes = new TextEncoder().encode("abc");
    expect(hex(sha256(bytes))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex(bytes)).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256(new Uint8Array(0))).toHaveLength(32);
  });
});
