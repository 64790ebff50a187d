/** Where a command writes. Tests pass buffers; the binary passes the process's streams. */
export interface CliIo {
  readonly cwd: string;
  out(text: string): void;
  err(text: string): void;
}

/**
 * Exit codes shared by every command. `unanchored` is charter verify's alone: the ledger is
 * internally consistent, but no key the auditor trusts vouches for it.
 */
export const EXIT = { ok: 0, findings: 1, error: 2, unanchored: 3 } as const;
