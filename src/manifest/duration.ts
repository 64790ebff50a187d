const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds in a duration such as "15m" or "8h"; undefined if it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = /^([1-9][0-9]{0,5})([smhd])$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * (UNIT_SECONDS[m[2] ?? ""] ?? 0);
}

/** Longest credential lifetime a manifest may declare: a week. Longer-lived keys defeat expiry. */
export const MAX_CREDENTIAL_LIFETIME_SECONDS = 7 * 86400;
