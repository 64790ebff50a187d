/**
 * Text that goes into a change's one-line summary. Manifest values are written by whoever opens
 * the pull request: a newline would forge an extra line in `charter diff`'s output, and
 * bidirectional or tag characters could make a summary read differently from what it says.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]|[\u{e0000}-\u{e007f}]/gu;

/** A value on one line, with unsafe characters escaped, shortened to `max` characters. */
export function oneLine(text: string, max = 120): string {
  const safe = text.replace(UNSAFE, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`);
  return safe.length > max ? `${safe.slice(0, max - 1)}…` : safe;
}

/** Compact rendering of a manifest value for a summary: "unset", strings bare, lists joined. */
export function show(value: unknown): string {
  if (value === undefined || value === null) return "unset";
  if (typeof value === "string") return oneLine(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return oneLine(value.map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(","));
  return oneLine(JSON.stringify(value));
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
