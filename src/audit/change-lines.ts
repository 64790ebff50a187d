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
  const found = pageOf(await store.select(sql, params), page.limit, (r) => [Number(r["merged_ms"]), Number(r["seq"])]);
  const emergencies = found.rows.filter((r) => r["line"] === null).map(changeEntryOf);
  const retros = await retroReviews(store, emergencies.map((c) => c.seq));
  const report = changesReport(emergencies.map((c) => ({ ...c, retro: retros.get(c.seq) ?? null })), now, retroDays);
  let formatted = 0;
  const rows = found.rows.map((r) => {
    if (r["line"] !== null) return cellText(r["line"]);
    const row = report.rows[formatted++];
    return row === undefined ? "" : renderedRow(report.columns, row, format);
  });
  return { rows, next: found.next };
}
