/**
 * Exponential backoff with full jitter: the delay before the next attempt is drawn uniformly from
 * [0, min(cap, base · 2^(attempt−1))]. Jitter spreads the retries of many jobs that failed together
 * (GitHub down for a minute) instead of sending them all back at the same instant.
 */
export interface BackoffOptions {
  readonly baseMs: number;
  readonly capMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1_000, capMs: 5 * 60_000 };

/** Delay after the `attempt`-th failed attempt (1 for the first). */
export function backoffDelayMs(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  // Capping the exponent keeps 2^n finite for absurd attempt counts.
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
  return Math.floor(random() * ceiling);
}

/** What a failed job keeps: the message only (a stack or a cause could carry request details), bounded. */
export function errorSummary(error: unknown, maxLength = 2_000): string {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return message.length > maxLength ? `${message.slice(0, maxLength - 1)}…` : message;
}
