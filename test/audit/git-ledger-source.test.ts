import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gitLedgerSource } from "../../src/audit/git-ledger-source.js";
import { memoryLedgerSource } from "../../src/audit/ledger-source.js";
import { dumpIndex } from "../../src/audit/queries.js";
import { openSqliteIndex } from "../../src/audit/sqlite-index.js";
import { updateIndex } from "../../src/audit/update-index.js";
import { CharterError } from "../../src/errors.js";
import type { BuiltLedger } from "../evidence/ledger-fixture.js";
import { evidenceRepo } from "../helpers/evidence-repo.js";
import type { TempRepo } from "../helpers/temp-repo.js";
import { auditLedger, auditRepo } from "./audit-ledger.js";

/** Reading the ledger from a real evidence branch, across its 1,000-record directories. */
describe("the evidence branch as a ledger source", () => {
  let repo: TempRepo;
  let ledger: BuiltLedger;
  beforeAll(() => {
    ({ repo, ledger } = evidenceRepo(1100));
  });
  afterAll(() => {
    repo.remove();
  });

  it("finds the size from the last directories and reads records across directory boundaries", async () => {
    const source = await gitLedgerSource(repo.root, "charter-evidence");
    try {
      expect(await source.size()).toBe(1101);
      const read = await source.read(995, 100);
      expect(read.map((b) => Buffer.from(b).toString("hex"))).toEqual(ledger.records.slice(995, 1095).map((r) => Buffer.from(r.bytes).toString("hex")));
      await expect(source.read(1100, 2)).rejects.toBeInstanceOf(CharterError);
    } finally {
      await source.close();
    }
  });

  it("indexes the branch exactly as it indexes the same records in memory", async () => {
    const fromGit = openSqliteIndex(":memory:");
    const fromMemory = openSqliteIndex(":memory:");
    const source = await gitLedgerSource(repo.root, "charter-evidence");
    try {
      expect(await updateIndex(fromGit, source, { batchSize: 400 })).toMatchObject({ indexed: 1101, size: 1101, commit: repo.git("rev-parse", "charter-evidence") });
      await updateIndex(fromMemory, memoryLedgerSource(ledger.records.map((r) => r.bytes)));
      expect(await dumpIndex(fromGit)).toEqual(await dumpIndex(fromMemory));
    } finally {
      await source.close();
      await fromGit.close();
      await fromMemory.close();
    }
  });
});

describe("manifest copies on the evidence branch", () => {
  it("are read by their content address", async () => {
    const audit = auditLedger();
    const repo = auditRepo(audit);
    const source = await gitLedgerSource(repo.root, "charter-evidence");
    try {
      const wanted = [...audit.objects.keys()];
      const missing = "0".repeat(64);
      const objects = await source.objects([...wanted, missing]);
      expect([...objects.keys()].sort()).toEqual([...wanted].sort());
      for (const sha of wanted) expect(Buffer.from(objects.get(sha) ?? new Uint8Array()).equals(Buffer.from(audit.objects.get(sha) ?? new Uint8Array([1])))).toBe(true);
    } finally {
      await source.close();
      repo.remove();
    }
  });
});
