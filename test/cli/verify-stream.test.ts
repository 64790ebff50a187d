import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { recordPath } from "../../src/evidence/ledger.js";
import { evidenceRepo } from "../helpers/evidence-repo.js";
import type { TempRepo } from "../helpers/temp-repo.js";
import { runCli } from "./run-cli.js";

let repo: TempRepo | undefined;
afterEach(() => {
  repo?.remove();
  repo = undefined;
});

/**
 * The records reach the verifier as a stream read from git (one listing, a window of reads), so
 * each way of tampering with the branch's tree is tried here through git itself, not only in the
 * in-memory core: each must still fail verify, and name what was done.
 */
async function tampered(change: (r: TempRepo, paths: readonly string[]) => void): Promise<{ code: number; problems: { code: string; seq?: number; path?: string }[] }> {
  const built = evidenceRepo(4);
  repo = built.repo;
  const intact = await runCli(["verify", "--key", built.ledger.verifierKey], repo.root);
  expect(intact.code).toBe(0);
  repo.git("checkout", "-q", "charter-evidence");
  change(
    repo,
    built.ledger.records.map((r) => r.path),
  );
  repo.commitAll("tamper");
  repo.git("checkout", "-q", "main");
  const result = await runCli(["verify", "--key", built.ledger.verifierKey, "--format", "json"], repo.root);
  const json = JSON.parse(result.stdout) as { ok: boolean; problems: { code: string; seq?: number; path?: string }[] };
  expect(json.ok).toBe(false);
  return { code: result.code, problems: json.problems };
}

const codes = (problems: readonly { code: string }[]): string[] => problems.map((p) => p.code);

describe("charter verify reading the branch as a stream", () => {
  it("names a record deleted from the middle", async () => {
    const result = await tampered((r, paths) => r.git("rm", "-q", paths[2] ?? ""));
    expect(result.code).toBe(1);
    expect(result.problems[0]).toMatchObject({ code: "seq-gap", seq: 3 });
  });

  it("names a record moved to another seq's path", async () => {
    const result = await tampered((r, paths) => r.git("mv", paths[4] ?? "", recordPath(5)));
    expect(result.code).toBe(1);
    expect(codes(result.problems)).toEqual(expect.arrayContaining(["seq-gap", "path-mismatch"]));
  });

  it("refuses a record replaced by a symlink, and a submodule among the records", async () => {
    const result = await tampered((r, paths) => {
      r.git("rm", "-q", paths[4] ?? "");
      r.write({ [paths[4] ?? ""]: { symlink: "../../../checkpoint" } });
      r.git("add", "-A");
      r.git("update-index", "--add", "--cacheinfo", `160000,${r.git("rev-parse", "main")},records/000/000/sub`);
      // An empty directory is how git shows a submodule not checked out; without it the commit would drop it.
      mkdirSync(join(r.root, "records/000/000/sub"));
    });
    expect(result.code).toBe(1);
    const invalid = result.problems.filter((p) => p.code === "path-invalid").map((p) => p.path);
    expect(invalid).toEqual(expect.arrayContaining([recordPath(4), "records/000/000/sub"]));
  });

  it("refuses a stray file beside the records", async () => {
    const result = await tampered((r) => {
      r.write({ "records/000/000/notes.txt": "nothing to see\n" });
    });
    expect(result.problems).toEqual([expect.objectContaining({ code: "path-invalid", path: "records/000/000/notes.txt" })]);
  });

  it("refuses a record appended without a new signature", async () => {
    const result = await tampered((r, paths) => {
      r.write({ [recordPath(5)]: r.git("show", `HEAD:${paths[4] ?? ""}`) + "\n" });
    });
    expect(codes(result.problems)).toContain("checkpoint-size-mismatch");
  });

  it("reports a record at a forged seq of a quadrillion as a gap, promptly and without exhausting memory", async () => {
    // An index laid out by seq would have to reserve room for every seq skipped.
    const result = await tampered((r, paths) => {
      r.write({ [recordPath(999_999_999_999_999)]: r.git("show", `HEAD:${paths[1] ?? ""}`) + "\n" });
    });
    expect(result.problems[0]).toMatchObject({ code: "seq-gap", seq: 999_999_999_999_999 });
  });
});
