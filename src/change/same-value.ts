/**
 * Structural equality of manifest values (plain JSON from YAML). Key order never matters; with
 * `unordered`, neither does the order of arrays, for fields that are sets (days of the week,
 * tool names).
 */
export function sameValue(a: unknown, b: unknown, unordered = false): boolean {
  return canonical(a, unordered) === canonical(b, unordered);
}

function canonical(value: unknown, unordered: boolean): string {
  if (value === undefined) return "null";
  if (Array.isArray(value)) {
    const items = value.map((v) => canonical(v, unordered));
    if (unordered) items.sort();
    return `[${items.join(",")}]`;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v, unordered)}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}
