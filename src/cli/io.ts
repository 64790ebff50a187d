/** Where a command writes. Tests pass buffers; the binary passes the process's streams. */
export interface CliIo {
  readonly cwd: string;
  out(text: string): void;
  err(text: string): void;
}

/** Exit codes shared by every command. */
export const EXIT = { ok: 0, findings: 1, error: 2 } as const;
