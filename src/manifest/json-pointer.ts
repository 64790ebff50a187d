/**
 * RFC 6901 JSON Pointers, the one encoding every diagnostic and change uses to name a place in a
 * document: "~" and "/" inside a key are escaped so a pointer stays unambiguous.
 */
export function pointerSegment(key: string | number): string {
  return String(key).replaceAll("~", "~0").replaceAll("/", "~1");
}

/** The keys a pointer names, unescaped: "" is the whole document, "/a~1b/0" is ["a/b", "0"]. */
export function pointerSegments(pointer: string): string[] {
  return pointer === "" ? [] : pointer.slice(1).split("/").map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

/** The pointer to a place given by its keys: ["a/b", 0] is "/a~1b/0". */
export function toPointer(segments: readonly (string | number)[]): string {
  return segments.map((segment) => `/${pointerSegment(segment)}`).join("");
}
