import type { AuditStore } from "./audit-store.js";
import { cellText } from "./index-schema.js";
import { checkLimit, decodeCursor, type Page, type PageRequest, pageOf } from "./page-cursor.js";
import { type ChangeFilter, changeEntryOf, changesQuery, retroReviews } from "./queries.js";
import { type RenderedFormat, renderedRow } from "./report-format.js";
import { changesReport } from "./reports.js";

/**
 * One page of the changes matching the filter, each as the CSV or JSON format prints it: what
 * --all and the exports write. The index stores each change's row rendered (see index-rows.ts),
 * so a page is its stored text in merge-time order; only an emergency change, whose retro-review
 * status depends on `now`, is formatted here, as pageChanges and changesReport would. The
 * cursors are pageChanges's: either continues the other.
 */
export async function pageChangeLines(store: AuditStore, filter: ChangeFilter, page: PageRequest, format: RenderedFormat, now: number, retroDays: number): Promise<Page<string>> {
  checkLimit(page.limit);
  const after = page.after === undefined ? undefined : decodeCursor(page.after, "nn");
  const { sql, params } = changesQuery(filter, { ...(after === undefined ? {} : { after }), ...(page.limit === undefined ? {} : { fetch: page.limit + 1 }) }, format);
  // Rows as arrays (merged_ms, seq, line, entry: changesQuery's order): a whole answer is
  // mostly this loop, and a named object per row cost about as much as reading the row.
  const found = pageOf(await store.selectRows(sql, params), page.limit, (r) => [Number(r[0]), Number(r[1])]);
  const emergencies = found.rows.filter((r) => r[2] === null).map((r) => changeEntryOf({ entry: r[3] }));
  const retros = await retroReviews(store, emergencies.map((c) => c.seq));
  const report = changesReport(emergencies.map((c) => ({ ...c, retro: retros.get(c.seq) ?? null })), now, retroDays);
  let formatted = 0;
  const rows = found.rows.map((r) => {
    if (r[2] !== null) return cellText(r[2]);
    const row = report.rows[formatted++];
    return row === undefined ? "" : renderedRow(report.columns, row, format);
  });
  return { rows, next: found.next };
}
