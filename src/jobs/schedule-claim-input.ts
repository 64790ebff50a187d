import { CharterError } from "../errors.js";

/**
 * Checks a schedule claim's arguments before they reach a database: both stores keep times as
 * 64-bit integers, and a fractional or non-finite time would otherwise fail there with a less
 * useful message, or (NaN compared with anything) make a task never or always due.
 */
export function checkClaimTimes(key: string, times: Readonly<Record<string, number>>): void {
  if (key.length === 0) throw new CharterError("USAGE", "a scheduled task's key must not be empty");
  for (const [name, value] of Object.entries(times)) {
    if (!Number.isSafeInteger(value)) throw new CharterError("USAGE", `${name} of the scheduled task ${JSON.stringify(key)} must be a whole number of milliseconds, not ${String(value)}`);
  }
}

/** A lease must end after the claim, or the claim would be free for the taking at once. */
export function checkLease(key: string, leaseMs: number): void {
  if (leaseMs <= 0) throw new CharterError("USAGE", `the lease of the scheduled task ${JSON.stringify(key)} must be positive, not ${String(leaseMs)} ms`);
}
