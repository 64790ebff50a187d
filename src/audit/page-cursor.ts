import { CharterError } from "../errors.js";

/**
 * One page of an answer. Pages are keyset pages: the cursor is the sort key of the last row
 * shown, so the next page is an index search from that key, never an OFFSET that re-reads
 * everything before it, and rows appended to the ledger meanwhile cannot shift a page.
 */
export interface PageRequest {
  /** Rows to return; undefined returns every row after the cursor. */
  readonly limit?: number;
  /** The `next` cursor of the previous page. */
  readonly after?: string;
}

export interface Page<T> {
  readonly rows: T[];
  /** Pass as `after` for the rows that follow; null when this page ends the answer. */
  readonly next: string | null;
}

/** A sort key: times and seqs as numbers, agent ids as text. */
export type SortKey = readonly (number | string)[];

/**
 * Cursors are printed for a person to paste into --after, so they are short, shell-safe
 * (base64url) and opaque: what is inside may change between versions without anyone depending
 * on it.
 */
export function encodeCursor(key: SortKey): string {
  return Buffer.from(JSON.stringify(key), "utf8").toString("base64url");
}

/** The key inside a cursor, checked against the shape the query expects (`"n"` number, `"s"` text). */
export function decodeCursor(cursor: string, shape: string): SortKey {
  const invalid = (): CharterError =>
    new CharterError("USAGE", `--after ${JSON.stringify(cursor.slice(0, 80))} is not a cursor this report printed`, {
      hint: "Copy the cursor from the line under the previous page of the same report, or leave --after out to start from the first row.",
    });
  if (!/^[A-Za-z0-9_-]{1,2048}$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== shape.length) throw invalid();
  const key = parsed as unknown[];
  for (let i = 0; i < shape.length; i++) {
    const value = key[i];
    const ok = shape[i] === "n" ? typeof value === "number" && Number.isSafeInteger(value) : typeof value === "string" && value.length <= 1024;
    if (!ok) throw invalid();
  }
  return key as SortKey;
}

/** A page size given on the command line or by a caller: a positive whole number. */
export function checkLimit(limit: number | undefined): void {
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
    throw new CharterError("USAGE", `a page of ${String(limit)} rows is not possible`, { hint: "Use a whole number of rows of at least 1, e.g. --limit 100." });
  }
}

/** Rows fetched one past the limit: the extra row only says whether another page follows. */
export function pageOf<T>(rows: T[], limit: number | undefined, key: (row: T) => SortKey): Page<T> {
  if (limit === undefined || rows.length <= limit) return { rows, next: null };
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  return { rows: shown, next: last === undefined ? null : encodeCursor(key(last)) };
}
