import type { ProbotOctokit } from "probot";
import type { LedgerSource } from "../../audit/ledger-source.js";
import { CharterError } from "../../errors.js";
import { objectPath, recordPath } from "../../evidence/ledger.js";
import { parseTip, TIP_PATH } from "../../evidence/tip-file.js";
import { readBlobTexts } from "./blob-texts.js";
import { readBranchHead } from "./branch-writer.js";

/**
 * The evidence branch read through GitHub's API, for the app's audit index: the records after
 * the last one indexed, a hundred per GraphQL query, at one fixed commit. An update reads only
 * what was appended since the last one, so its cost follows the new records, not the log.
 */
export async function githubLedgerSource(octokit: ProbotOctokit, target: { readonly owner: string; readonly repo: string }, branch: string): Promise<LedgerSource> {
  const head = await readBranchHead(octokit, target.owner, target.repo, branch);
  if (head === null) throw new CharterError("NOT_FOUND", `${target.owner}/${target.repo} has no ${branch} branch yet`, { hint: "The branch appears with the first recorded merge." });
  const encoder = new TextEncoder();
  const read = async (paths: readonly string[]): Promise<Map<string, Uint8Array | null>> => {
    const texts = await readBlobTexts(octokit, target, head, paths);
    return new Map([...texts].map(([path, text]) => [path, text === null ? null : encoder.encode(text)]));
  };
  const tipBytes = (await read([TIP_PATH])).get(TIP_PATH);
  if (!tipBytes) throw new CharterError("INVALID_RECORD", `${branch} has no ${TIP_PATH}`, { hint: "Run charter verify on the branch." });
  const size = parseTip(tipBytes).size;
  return {
    commit: head,
    size: () => Promise.resolve(size),
    read: async (from, count) => {
      const paths = Array.from({ length: Math.max(0, Math.min(count, size - from)) }, (_, i) => recordPath(from + i));
      const files = await read(paths);
      return paths.map((p) => {
        const bytes = files.get(p);
        if (!bytes) throw new CharterError("INVALID_RECORD", `${p} is missing from ${branch}`, { hint: "Run charter verify on the branch." });
        return bytes;
      });
    },
    objects: async (hashes) => {
      const files = await read(hashes.map(objectPath));
      return new Map(hashes.flatMap((h) => { const bytes = files.get(objectPath(h)); return bytes ? [[h, bytes] as const] : []; }));
    },
    close: () => Promise.resolve(),
  };
}
