/**
 * Where the index reads the ledger from: the evidence branch of a clone (git-ledger-source.ts),
 * or records already in memory (the benchmark, tests, an app holding what it just wrote).
 */
export interface LedgerSource {
  /** The commit (or other label) the records are read at, for the report footer. */
  readonly commit: string;
  /** How many records the ledger holds. */
  size(): Promise<number>;
  /** The stored bytes of records from..from+count-1, in order. */
  read(from: number, count: number): Promise<Uint8Array[]>;
  /** Content-addressed copies by SHA-256; a copy the branch lacks is simply absent from the map. */
  objects(hashes: readonly string[]): Promise<Map<string, Uint8Array>>;
  close(): Promise<void>;
}

/** A ledger held in memory. */
export function memoryLedgerSource(records: readonly Uint8Array[], objects: ReadonlyMap<string, Uint8Array> = new Map(), commit = "memory"): LedgerSource {
  return {
    commit,
    size: () => Promise.resolve(records.length),
    read: (from, count) => Promise.resolve(records.slice(from, from + count)),
    objects: (hashes) => Promise.resolve(new Map(hashes.flatMap((h) => { const bytes = objects.get(h); return bytes ? [[h, bytes] as const] : []; }))),
    close: () => Promise.resolve(),
  };
}
