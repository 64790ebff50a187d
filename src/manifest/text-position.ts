import type { Position, Span } from "./diagnostic.js";

/** Line and column (1-based, UTF-16 units) of a string offset. Linear, for the rare error path. */
export function positionAt(text: string, offset: number): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

export function spanAt(text: string, start: number, end: number): Span {
  const from = positionAt(text, start);
  // A match never spans lines for the patterns that use this; compute the end from the start.
  const to = text.lastIndexOf("\n", end - 1) < start ? { line: from.line, column: from.column + (end - start) } : positionAt(text, end);
  return { start: from, end: to };
}
