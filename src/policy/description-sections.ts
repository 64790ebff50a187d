/**
 * Finds sections of a pull request description by their Markdown heading. A section counts
 * only with real content: HTML comments (template hints) and placeholders such as "N/A" or
 * "TBD" do not.
 */
const HEADING = /^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$/;
const PLACEHOLDER = /^(?:n\/?a|none|tbd|todo|-+|\.+|—)$/i;

export function sectionContent(body: string, heading: string): string | null {
  const wanted = normalise(heading);
  const lines = body.replace(/<!--[\s\S]*?-->/g, "").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = HEADING.exec(lines[i] ?? "");
    if (!m || normalise(m[2] ?? "") !== wanted) continue;
    const content: string[] = [];
    for (let j = i + 1; j < lines.length && !HEADING.test(lines[j] ?? ""); j++) content.push(lines[j] ?? "");
    const text = content.join("\n").trim();
    return text === "" || PLACEHOLDER.test(text) ? null : text;
  }
  return null;
}

function normalise(text: string): string {
  return text.trim().replace(/[:.]+$/, "").replace(/\s+/g, " ").toLowerCase();
}
