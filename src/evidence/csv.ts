/**
 * RFC 4180 CSV for the files auditors open in a spreadsheet. Record fields come from pull
 * requests (titles, reasons), so a cell that a spreadsheet would run as a formula is prefixed
 * with a quote: the population an auditor samples from must not be able to execute anything.
 */
function csvCell(value: string | number | boolean | null): string {
  let text = value === null ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(cells: readonly (string | number | boolean | null)[]): string {
  return `${cells.map(csvCell).join(",")}\r\n`;
}

export function csvTable<Row>(columns: readonly (keyof Row & string)[], rows: readonly Row[], cell: (row: Row, column: keyof Row & string) => string | number | boolean | null): string {
  return csvLine(columns) + rows.map((row) => csvLine(columns.map((c) => cell(row, c)))).join("");
}
