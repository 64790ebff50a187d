import type { Cell, Dialect, Row, TableName } from "./index-schema.js";

/** Rows derived from records fromSeq..toSeq, to be stored in one transaction with the new meta. */
export interface IndexBatch {
  readonly fromSeq: number;
  readonly toSeq: number;
  /** Hash of record fromSeq - 1, which the index must hold as its last hash; null for the genesis record. */
  readonly prevHash: string | null;
  readonly lastHash: string;
  readonly rows: ReadonlyMap<TableName, readonly Row[]>;
}

/** How far the index has read the ledger. */
export interface IndexMeta {
  /** Records indexed: the next seq to read. */
  readonly size: number;
  /** Hash of the last indexed record; null when nothing is indexed. */
  readonly lastHash: string | null;
}

/**
 * Storage of the audit index. SQLite and PostgreSQL implement it; every query is written once
 * against `select`, with `?` placeholders, so both stores answer the same SQL.
 */
export interface AuditStore {
  readonly dialect: Dialect;
  /** Where the index lives, for messages ("/repo/.git/.charter/audit.sqlite", "postgres schema charter_audit"). */
  readonly location: string;
  select(sql: string, params?: readonly Cell[]): Promise<Record<string, unknown>[]>;
  /**
   * The same rows as arrays, each cell at its column's place in the SELECT list: what a whole
   * answer streams, without building an object with named fields for every row.
   */
  selectRows(sql: string, params?: readonly Cell[]): Promise<unknown[][]>;
  meta(): Promise<IndexMeta>;
  /**
   * Stores a batch atomically, with the meta that says it is stored. "raced" when the index no
   * longer ends at batch.fromSeq - 1 with batch.prevHash (another process indexed meanwhile):
   * nothing is written and the caller re-reads the meta.
   */
  apply(batch: IndexBatch): Promise<"applied" | "raced">;
  /** Drops every table and creates them empty. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export const META_SIZE = "size";
export const META_LAST_HASH = "last_hash";
/** The index layout the rows were written in (META_VERSION's value): see INDEX_VERSION. */
export const META_VERSION = "version";
/**
 * Bumped whenever what a row holds changes: a column, or the text of the rendered report rows
 * (index-rows.ts). An index of another version is dropped and built again when opened, since it
 * is derived from the branch and its rows would be missing a column or print another way.
 */
export const INDEX_VERSION = "3";
