import { CharterError } from "../errors.js";

// ISO 8601 as GitHub and auditors write it: a date, or a date and time with an optional zone.
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * The UTC instant (milliseconds since the epoch) an ISO 8601 string names, or null when it is
 * not one. Time filters compare instants, never strings: "2026-03-03T10:00:00+02:00" and
 * "2026-03-03T08:00:00Z" are the same moment. A date or a time without a zone is read as UTC,
 * not as the local zone of whoever runs the query, so two auditors get the same answer.
 */
export function instantOf(text: string): number | null {
  const match = ISO_8601.exec(text);
  if (!match) return null;
  const zoned = match[4] === undefined ? `${text.slice(0, 10)}T00:00:00Z` : match[7] === undefined ? `${text.replace(" ", "T")}Z` : text.replace(" ", "T");
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? null : ms;
}

/** A time given on the command line, or a usage error naming the option. */
export function timeOption(value: string, option: string): number {
  const ms = instantOf(value);
  if (ms === null) throw new CharterError("USAGE", `${option} ${JSON.stringify(value)} is not an ISO 8601 time`, { hint: "Use e.g. 2026-03-03, 2026-03-03T14:00:00Z or 2026-03-03T16:00:00+02:00 (no zone means UTC)." });
  return ms;
}

export function isoOf(ms: number): string {
  return new Date(ms).toISOString();
}
