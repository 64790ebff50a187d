import { CharterError } from "../errors.js";
import type { Hash } from "./merkle.js";

/**
 * The auditor's own trust file, like SSH's known_hosts: for each evidence log (by its origin), the
 * key it was first verified with, and the largest tree verified since. It lives in the auditor's
 * home, not on the branch, so nobody who can rewrite the branch can edit it. One line per fact,
 * tab-separated (an origin cannot hold a tab: checkpoints refuse control characters), the kind
 * first so that no origin can make its line read as a comment:
 *
 *   key  TAB <origin> TAB <verifier key> TAB <first verified, ISO 8601>
 *   tree TAB <origin> TAB <size> TAB <base64 root>
 *
 * A later run whose checkpoint is signed by another key fails until the auditor removes the key
 * line; the tree line makes any rewrite or truncation since the last run evident.
 */
export interface RememberedKey {
  readonly key: string;
  readonly since: string;
  /** 1-based line number, for the message that tells the auditor which line to remove. */
  readonly line: number;
}

export interface RememberedTree {
  readonly size: number;
  readonly root: Hash;
  readonly line: number;
}

export interface RememberedLog {
  readonly key?: RememberedKey;
  readonly tree?: RememberedTree;
}

const HEADER = [
  "# charter verify's known evidence logs: the key each log was first verified with, and the largest",
  "# tree verified since. A checkpoint signed by another key fails until you remove that log's key line",
  "# (do so only after its operator has confirmed the new key out of band).",
];

export function parseTrustFile(text: string, file: string): ReadonlyMap<string, RememberedLog> {
  const logs = new Map<string, { key?: RememberedKey; tree?: RememberedTree }>();
  text.split("\n").forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "" || raw.startsWith("#")) return;
    const bad = (why: string): CharterError =>
      new CharterError("INVALID_CONFIG", `${file}:${line}: ${why}`, { hint: "Each line is key TAB <origin> TAB <key> TAB <time>, or tree TAB <origin> TAB <size> TAB <root>; remove the line to forget it." });
    const [kind, origin = "", a = "", b = "", ...rest] = raw.split("\t");
    if (origin === "" || rest.length > 0) throw bad("not a key or tree line");
    const log = logs.get(origin) ?? {};
    if (kind === "key") {
      if (log.key) throw bad(`a second key line for ${origin} (the first is line ${log.key.line})`);
      if (a === "") throw bad("the key is empty");
      log.key = { key: a, since: b, line };
    } else if (kind === "tree") {
      if (log.tree) throw bad(`a second tree line for ${origin} (the first is line ${log.tree.line})`);
      const root = Buffer.from(b, "base64");
      if (!/^(0|[1-9][0-9]*)$/.test(a) || !Number.isSafeInteger(Number(a)) || root.length !== 32 || root.toString("base64") !== b) {
        throw bad("a tree line needs a size and the base64 of a 32-byte root");
      }
      log.tree = { size: Number(a), root: Uint8Array.from(root), line };
    } else {
      throw bad(`unknown kind ${JSON.stringify(kind ?? "")}: expected key or tree`);
    }
    logs.set(origin, log);
  });
  return logs;
}

/**
 * The file with a log's facts set: a key is added only when the log has none (a remembered key
 * is never replaced here), the tree replaces the one before. Other lines and comments are kept.
 */
export function rememberLog(text: string, origin: string, facts: { readonly key?: { key: string; since: string }; readonly tree?: { size: number; root: Hash } }): string {
  const known = parseTrustFile(text, "trust file").get(origin);
  const lines = text === "" ? [...HEADER] : text.replace(/\n$/, "").split("\n");
  if (facts.key && !known?.key) lines.push(`key\t${origin}\t${facts.key.key}\t${facts.key.since}`);
  if (facts.tree) {
    const line = `tree\t${origin}\t${String(facts.tree.size)}\t${Buffer.from(facts.tree.root).toString("base64")}`;
    if (known?.tree) lines[known.tree.line - 1] = line;
    else lines.push(line);
  }
  return lines.join("\n") + "\n";
}
