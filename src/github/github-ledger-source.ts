import type { ProbotOctokit } from "probot";
import type { LedgerSource } from "../audit/ledger-source.js";
import { CharterError } from "../errors.js";
import { objectPath, recordPath } from "../evidence/ledger.js";
import { parseTip, TIP_PATH } from "../evidence/tip-file.js";
import { readBranchHead } from "./branch-writer.js";

/** Paths per GraphQL query: far below GitHub's node limits, few enough queries for thousands of records. */
const BATCH = 100;

type Blob = { readonly __typename: string; readonly text?: string | null; readonly isTruncated?: boolean } | null;

/**
 * The evidence branch read through GitHub's API, for the app's audit index: the records after
 * the last one indexed, a hundred per GraphQL query, at one fixed commit. An update reads only
 * what was appended since the last one, so its cost follows the new records, not the log.
 */
export async function githubLedgerSource(octokit: ProbotOctokit, target: { readonly owner: string; readonly repo: string }, branch: string): Promise<LedgerSource> {
  const head = await readBranchHead(octokit, target.owner, target.repo, branch);
  if (head === null) throw new CharterError("NOT_FOUND", `${target.owner}/${target.repo} has no ${branch} branch yet`, { hint: "The branch appears with the first recorded merge." });
  const read = async (paths: readonly string[]): Promise<Map<string, Uint8Array | null>> => {
    const out = new Map<string, Uint8Array | null>();
    for (let start = 0; start < paths.length; start += BATCH) {
      const batch = paths.slice(start, start + BATCH);
      const variables: Record<string, string> = { owner: target.owner, name: target.repo };
      const fields = batch.map((path, i) => {
        variables[`p${String(i)}`] = `${head}:${path}`;
        return `p${String(i)}: object(expression: $p${String(i)}) { __typename ... on Blob { text isTruncated } }`;
      });
      const declarations = batch.map((_, i) => `, $p${String(i)}: String!`).join("");
      const result = await octokit.graphql<{ repository: Readonly<Record<string, Blob>> | null }>(
        `query CharterLedgerRead($owner: String!, $name: String!${declarations}) { repository(owner: $owner, name: $name) { ${fields.join(" ")} } }`,
        variables,
      );
      for (const [i, path] of batch.entries()) {
        const blob = result.repository?.[`p${String(i)}`];
        if (blob?.__typename !== "Blob" || typeof blob.text !== "string") {
          out.set(path, null);
          continue;
        }
        if (blob.isTruncated === true) throw new CharterError("GITHUB_LIMIT", `${path} is too large for GitHub to return in full`, { hint: "Build the index from a clone with charter audit." });
        out.set(path, new TextEncoder().encode(blob.text));
      }
    }
    return out;
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
