import type { Page, PageRequest } from "./page-cursor.js";
import { type LedgerFooter, type PageFooter, type RenderedFormat, type Report, type ReportCell, type ReportFormat, reportWriter } from "./report-format.js";

/** Rows read at a time when every row is asked for: memory stays bounded however large the population. */
const BATCH_ROWS = 1_000;

/** One audit question: its pages, its population's size, and its rows as a report. */
export interface Answer<T> {
  read(page: PageRequest): Promise<Page<T>>;
  count(): Promise<number>;
  report(rows: readonly T[]): Report;
  /** Its pages already rendered for CSV or JSON, where the index stores them so (changes). */
  rendered?(page: PageRequest, format: RenderedFormat): Promise<Page<string>>;
}

/**
 * Writes an answer: one page and the population's size when a page size is given, otherwise
 * every row from the cursor on, a batch at a time, written as it is read.
 */
export async function writeAnswer<T>(
  answer: Answer<T>,
  options: { readonly format: ReportFormat; readonly footer: LedgerFooter; readonly pageSize: number | undefined; readonly after: string | undefined; readonly out: (text: string) => void },
): Promise<PageFooter | undefined> {
  const { out, format } = options;
  const writer = reportWriter(answer.report([]), format, options.footer);
  const write = (rows: readonly Readonly<Record<string, ReportCell>>[]): void => {
    const text = writer.rows(rows);
    if (text !== "") out(text);
  };
  if (options.pageSize !== undefined) {
    const page = await answer.read({ limit: options.pageSize, ...(options.after === undefined ? {} : { after: options.after }) });
    write(answer.report(page.rows).rows);
    const footer: PageFooter = { total: await answer.count(), next: page.next };
    out(writer.end(footer));
    return footer;
  }
  // Whole answers in CSV or JSON stream the rows the index stores rendered, where it does.
  const rendered = writer.rendered;
  const readRendered = answer.rendered?.bind(answer);
  let after = options.after;
  do {
    const request = { limit: BATCH_ROWS, ...(after === undefined ? {} : { after }) };
    let next: string | null;
    if (rendered !== undefined && readRendered !== undefined && (format === "csv" || format === "json")) {
      const page = await readRendered(request, format);
      const text = rendered(page.rows);
      if (text !== "") out(text);
      next = page.next;
    } else {
      const page = await answer.read(request);
      write(answer.report(page.rows).rows);
      next = page.next;
    }
    after = next ?? undefined;
  } while (after !== undefined);
  out(writer.end());
  return undefined;
}
