/**
 * Sigma's string values: `*` matches any run of characters, `?` exactly one, and a backslash
 * escapes `*`, `?` and itself (before any other character it is a plain backslash). Matching is
 * a scan of the input per segment between stars, so it is linear in the input times the
 * pattern's length whatever the value: no backtracking over stars.
 */
export type StringMode = "equals" | "contains" | "startswith" | "endswith";

/** A predicate over a field's text (already lowercased by the caller when matching is case-insensitive). */
export type TextMatcher = (text: string) => boolean;

const STAR = -1;
const ONE = -2;

/** Code units of the value, with STAR and ONE for unescaped wildcards. */
function tokens(value: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x5c) {
      const next = value.charCodeAt(i + 1);
      if (next === 0x2a || next === 0x3f || next === 0x5c) {
        out.push(next);
        i++;
        continue;
      }
      out.push(c);
    } else if (c === 0x2a) out.push(STAR);
    else if (c === 0x3f) out.push(ONE);
    else out.push(c);
  }
  return out;
}

export function compileText(value: string, mode: StringMode, caseInsensitive: boolean): TextMatcher {
  const raw = tokens(caseInsensitive ? value.toLowerCase() : value);
  if (mode === "contains" || mode === "endswith") raw.unshift(STAR);
  if (mode === "contains" || mode === "startswith") raw.push(STAR);
  // Consecutive stars are one star.
  const t = raw.filter((c, i) => !(c === STAR && raw[i - 1] === STAR));
  if (!t.some((c) => c < 0)) {
    const text = String.fromCharCode(...t);
    return (s) => s === text;
  }
  const segments: number[][] = [[]];
  for (const c of t) {
    if (c === STAR) segments.push([]);
    else segments[segments.length - 1]?.push(c);
  }
  const startsWithStar = t[0] === STAR;
  const endsWithStar = t[t.length - 1] === STAR;
  const plain = segments.map((seg) => (seg.some((c) => c === ONE) ? undefined : String.fromCharCode(...seg)));
  // Fast paths for the shapes rules use most: *text*, text*, *text.
  if (segments.length === 3 && startsWithStar && endsWithStar && plain[1] !== undefined) {
    const mid = plain[1];
    return (s) => s.includes(mid);
  }
  if (segments.length === 2 && endsWithStar && !startsWithStar && plain[0] !== undefined) {
    const head = plain[0];
    return (s) => s.startsWith(head);
  }
  if (segments.length === 2 && startsWithStar && !endsWithStar && plain[1] !== undefined) {
    const tail = plain[1];
    return (s) => s.endsWith(tail);
  }
  return (s) => globMatch(s, segments, startsWithStar, endsWithStar);
}

function segmentAt(s: string, at: number, seg: readonly number[]): boolean {
  if (at + seg.length > s.length) return false;
  for (let i = 0; i < seg.length; i++) {
    const p = seg[i];
    if (p !== ONE && s.charCodeAt(at + i) !== p) return false;
  }
  return true;
}

/**
 * segments are the pieces between stars. The first is anchored at the start unless the pattern
 * starts with a star, the last at the end unless it ends with one; every middle piece is taken
 * at its leftmost occurrence, which is always safe when only stars separate them.
 */
function globMatch(s: string, segments: readonly (readonly number[])[], startsWithStar: boolean, endsWithStar: boolean): boolean {
  const first = segments[0] ?? [];
  const last = segments[segments.length - 1] ?? [];
  if (segments.length === 1) return s.length === first.length && segmentAt(s, 0, first);
  let pos = 0;
  let end = s.length;
  if (!startsWithStar) {
    if (!segmentAt(s, 0, first)) return false;
    pos = first.length;
  }
  if (!endsWithStar) {
    end = s.length - last.length;
    if (end < pos || !segmentAt(s, end, last)) return false;
  }
  const from = startsWithStar ? 0 : 1;
  const to = endsWithStar ? segments.length : segments.length - 1;
  for (let k = from; k < to; k++) {
    const seg = segments[k] ?? [];
    let found = -1;
    for (let at = pos; at + seg.length <= end; at++) {
      if (segmentAt(s, at, seg)) {
        found = at;
        break;
      }
    }
    if (found === -1) return false;
    pos = found + seg.length;
  }
  return true;
}
