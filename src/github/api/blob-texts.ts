import type { ProbotOctokit } from "probot";
import { CharterError } from "../../errors.js";

/** Paths per GraphQL query: far below GitHub's node limits, few enough queries for thousands of files. */
const BATCH = 100;

type Blob = { readonly __typename: string; readonly text?: string | null; readonly isTruncated?: boolean } | null;

/**
 * The text of files at one revision, a hundred per GraphQL query; null for a path that is not a
 * file there. Paths travel as variables, never inside the query text. A file GitHub would return
 * only in part is an error: rewriting or trusting a truncated copy would lose data silently.
 */
export async function readBlobTexts(
  octokit: Pick<ProbotOctokit, "graphql">,
  target: { readonly owner: string; readonly repo: string },
  revision: string,
  paths: readonly string[],
): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (let start = 0; start < paths.length; start += BATCH) {
    const batch = paths.slice(start, start + BATCH);
    const variables: Record<string, string> = { owner: target.owner, name: target.repo };
    const fields = batch.map((path, i) => {
      variables[`p${String(i)}`] = `${revision}:${path}`;
      return `p${String(i)}: object(expression: $p${String(i)}) { __typename ... on Blob { text isTruncated } }`;
    });
    const declarations = batch.map((_, i) => `, $p${String(i)}: String!`).join("");
    const result = await octokit.graphql<{ repository: Readonly<Record<string, Blob>> | null }>(
      `query CharterBlobTexts($owner: String!, $name: String!${declarations}) { repository(owner: $owner, name: $name) { ${fields.join(" ")} } }`,
      variables,
    );
    for (const [i, path] of batch.entries()) {
      const blob = result.repository?.[`p${String(i)}`];
      if (blob?.__typename !== "Blob" || typeof blob.text !== "string") {
        out.set(path, null);
        continue;
      }
      if (blob.isTruncated === true) {
        throw new CharterError("GITHUB_LIMIT", `${path} is too large for GitHub to return in full`, { hint: "Split the file, or read it from a clone (charter audit, charter verify)." });
      }
      out.set(path, blob.text);
    }
  }
  return out;
}
