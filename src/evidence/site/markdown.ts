/**
 * Markdown for pages that GitHub renders from the evidence branch. Titles, reasons and owner
 * names come from pull requests, so every piece of text is escaped: a title must not be able to
 * add a link, an image, raw HTML or a table column to an auditor's page.
 */
export function mdText(value: string, maxLength = 300): string {
  const flat = value.replace(/[\r\n\t]+/g, " ").trim();
  const short = flat.length > maxLength ? `${flat.slice(0, maxLength - 1)}…` : flat;
  return short
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/([\\`*_[\]{}()#+!|~^:])/g, "\\$1");
}

/** Text shown as inline code (hashes, paths, ids): backticks inside cannot close the span. */
export function mdCode(value: string): string {
  const flat = value.replace(/[\r\n\t]+/g, " ");
  return flat.includes("`") ? mdText(flat) : `\`${flat.replace(/\|/g, "\\|")}\``;
}

/** A link whose target is a repository-relative path from `from` (the page's own path). */
export function mdLink(text: string, from: string, to: string): string {
  return `[${text}](${relativePath(from, to)})`;
}

/** A link to an absolute https URL taken from a record; anything else is shown as text only. */
export function mdUrl(text: string, url: string): string {
  return /^https:\/\/[^\s()<>]+$/.test(url) ? `[${text}](${url})` : text;
}

export function relativePath(from: string, to: string): string {
  const fromDir = from.split("/").slice(0, -1);
  const target = to.split("/");
  let common = 0;
  while (common < fromDir.length && common < target.length - 1 && fromDir[common] === target[common]) common++;
  const ups = fromDir.length - common;
  return [...Array.from({ length: ups }, () => ".."), ...target.slice(common)].map(encodeURIComponent).join("/").replace(/%2E%2E/g, "..");
}

export function mdTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return "_None._\n";
  const line = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n") + "\n";
}
