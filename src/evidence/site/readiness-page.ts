import type { EvidenceRecord, ReadinessItem, ReadinessRecord } from "../../schema-types/evidence-record.generated.js";
import { recordPath } from "../ledger.js";
import { mdCode, mdLink, mdTable, mdText } from "./markdown.js";
import { pagePath } from "./site-paths.js";

/**
 * The readiness page on the evidence branch: the latest recorded SOC 2 readiness report, item by
 * item with its failures and what proves each, and the history of every report (date and each
 * item's answer), each linking its record's page. Like the rest of the site it is a view of the
 * records; charter readiness --at re-evaluates a record from the evidence.
 */
export const READINESS_PATH = "readiness/README.md";
/** The history the page's table is rendered from, kept so an append need not read old records. */
export const READINESS_HISTORY_PATH = "readiness/history.json";

interface HistoryEntry {
  readonly seq: number;
  readonly observedAt: string;
  readonly since: string | null;
  readonly until: string;
  readonly status: string;
  /** Item id → pass, fail or not-applicable. */
  readonly items: Readonly<Record<string, string>>;
}

function parseHistory(text: string | null): HistoryEntry[] {
  if (text === null) return [];
  try {
    const value: unknown = JSON.parse(text);
    // A history edited into something else is rebuilt from the records that follow, not trusted.
    return Array.isArray(value) ? (value as HistoryEntry[]).filter((e) => typeof e.seq === "number" && typeof e.until === "string" && typeof e.items === "object") : [];
  } catch {
    return [];
  }
}

const MARK: Readonly<Record<string, string>> = { pass: "pass", fail: "**fail**", "not-applicable": "n/a" };

function failureLines(item: ReadinessItem, from: string): string[] {
  if (item.failures.length === 0) return [];
  const rows = item.failures.map((f) => [mdText(f.subject, 200), mdText(f.reason, 300), mdText(f.fix, 300), f.links.map((l) => (l.kind === "record" && /^records\//.test(l.ref) ? mdLink(mdText(l.ref, 100), from, l.ref) : mdCode(`${l.kind} ${l.ref}`.slice(0, 200)))).join("<br>")]);
  return ["", mdTable(["subject", "reason", "fix", "see"], rows).trimEnd(), ...(item.failuresOmitted === 0 ? [] : ["", `…and ${item.failuresOmitted} more, counted in the record and listed by charter readiness on the live stores.`])];
}

function latest(record: ReadinessRecord, from: string): string[] {
  const b = record.body;
  const out = [
    `## Latest: ${b.status === "pass" ? "pass" : "fail"}, ${mdText(b.period.since ?? "the beginning")} to ${mdText(b.period.until)}`,
    "",
    `Recorded in ${mdLink(`record ${record.seq}`, from, pagePath(record.seq))} (${mdLink(recordPath(record.seq), from, recordPath(record.seq))}) at ${mdText(record.observedAt)}, judged on the ${b.ledgerSize} records before it. Re-evaluate it from a clone of this branch: ${mdCode(`charter readiness --at ${record.observedAt} --key <verifier key>`)}.`,
    "",
    mdTable(
      ["item", "criteria", "answer", "checked", "summary"],
      b.items.map((i) => [mdText(i.id, 100), mdText(i.criteria.join(", "), 100), MARK[i.status] ?? mdText(i.status), String(i.checked), mdText(i.summary, 500)]),
    ).trimEnd(),
  ];
  for (const item of b.items) {
    out.push("", `### ${mdText(item.id, 100)}: ${mdText(item.title, 300)}`, "", `${MARK[item.status] ?? mdText(item.status)}: ${mdText(item.summary, 500)}`);
    out.push(...failureLines(item, from));
    if (item.links.length > 0) out.push("", `Proof: ${item.links.map((l) => (l.kind === "record" ? mdLink(mdText(l.ref, 100), from, l.ref) : mdCode(l.ref.slice(0, 300)))).join(", ")}`);
  }
  if (b.facts.truncated.length > 0) out.push("", `The record cut ${mdText(b.facts.truncated.join(", "))} to stay bounded: the items resting on them are shown as recorded.`);
  return out;
}

/** The page and history files after these records (in seq order); empty when none is a readiness record. Pure. */
export function renderReadinessFiles(existingHistory: string | null, records: readonly EvidenceRecord[]): Map<string, string> {
  const files = new Map<string, string>();
  const reports = records.filter((r): r is ReadinessRecord => r.kind === "readiness");
  const last = reports.at(-1);
  if (last === undefined) return files;
  const history = [
    ...reports.map((r) => ({ seq: r.seq, observedAt: r.observedAt, since: r.body.period.since, until: r.body.period.until, status: r.body.status, items: Object.fromEntries(r.body.items.map((i) => [i.id, i.status])) })).reverse(),
    ...parseHistory(existingHistory).filter((e) => e.seq < (reports[0]?.seq ?? 0)),
  ];
  files.set(READINESS_HISTORY_PATH, `${JSON.stringify(history, null, 1)}\n`);
  const ids = last.body.items.map((i) => i.id);
  const from = READINESS_PATH;
  const page = [
    "# SOC 2 readiness",
    "",
    "The readiness report the app records on a schedule (CHARTER_READINESS_INTERVAL), each a signed record of this ledger. docs/soc2-mapping.md maps each item to its criteria and to the command that proves it.",
    "",
    ...latest(last, from),
    "",
    "## History",
    "",
    mdTable(
      ["record", "written", "period", "status", ...ids.map((id) => mdText(id, 40))],
      history.map((e) => [mdLink(String(e.seq), from, pagePath(e.seq)), mdText(e.observedAt), `${mdText(e.since ?? "the beginning")} to ${mdText(e.until)}`, MARK[e.status] ?? mdText(e.status), ...ids.map((id) => MARK[e.items[id] ?? ""] ?? "")]),
    ).trimEnd(),
    "",
  ];
  files.set(READINESS_PATH, page.join("\n"));
  return files;
}
