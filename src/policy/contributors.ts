import type { PullFacts } from "./pull-facts.js";

/** A git identity in the pull request's commits that GitHub links to no account. */
export interface UnlinkedContributor {
  readonly sha: string;
  readonly role: "author" | "co-author" | "committer";
  readonly name: string;
  readonly email: string;
}

export interface Contributors {
  /** Lower-case logins of the author and everyone who authored, co-authored or committed a commit of the pull request. */
  readonly logins: ReadonlySet<string>;
  /** The same logins as GitHub spells them, sorted. */
  readonly named: readonly string[];
  /** Identities nobody can tell apart from a reviewer's: Charter fails closed on them. */
  readonly unlinked: readonly UnlinkedContributor[];
}

/** GitHub commits web edits and merges as this identity (the `web-flow` account); it is nobody's work. */
const GITHUB_EMAIL = "noreply@github.com";
const GITHUB_LOGIN = "web-flow";
// GitHub's noreply address names its account: `<id>+<login>@…` (or `<login>@…` for old
// accounts). GraphQL links no Bot to a commit (GitActor.user is a User), so an app's commits,
// `<id>+<slug>[bot]@users.noreply.github.com`, are recognised by their address.
const NOREPLY = /^(?:\d+\+)?([A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}(?:\[bot\])?)@users\.noreply\.github\.com$/i;

/**
 * Who wrote the pull request: separation of duties says none of them may approve it. Authors,
 * co-authors (GitHub counts `Co-authored-by:` as authorship) and committers are treated alike.
 */
export function contributorsOf(facts: Pick<PullFacts, "author" | "commits">): Contributors {
  const logins = new Map<string, string>([[facts.author.login.toLowerCase(), facts.author.login]]);
  const unlinked = new Map<string, UnlinkedContributor>();
  const add = (sha: string, role: UnlinkedContributor["role"], person: { login: string | null; name: string; email: string }): void => {
    const login = person.login ?? NOREPLY.exec(person.email)?.[1] ?? null;
    if (login !== null) {
      const key = login.toLowerCase();
      if ((role !== "committer" || key !== GITHUB_LOGIN) && !logins.has(key)) logins.set(key, login);
      return;
    }
    if (role === "committer" && person.email.toLowerCase() === GITHUB_EMAIL) return;
    const key = `${role}\n${person.email.toLowerCase()}\n${person.name}`;
    if (!unlinked.has(key)) unlinked.set(key, { sha, role, name: person.name, email: person.email });
  };
  for (const commit of facts.commits) {
    commit.authors.forEach((person, i) => {
      add(commit.sha, i === 0 ? "author" : "co-author", person);
    });
    if (commit.committer) add(commit.sha, "committer", commit.committer);
  }
  return { logins: new Set(logins.keys()), named: [...logins.values()].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())), unlinked: [...unlinked.values()] };
}
