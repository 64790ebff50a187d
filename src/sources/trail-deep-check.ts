import { CharterError } from "../errors.js";
import { eventFromBytes } from "../trail/event-bytes.js";
import type { TrailProblem } from "../trail/verify-trail.js";
import { SqliteTrailStore } from "./sqlite-trail-store.js";
import { eventBits, resourceKey, type TrailStore } from "./trail-store.js";

/**
 * The deep check: every query row against the bytes of its event. The hash chain proves the
 * bytes; queries read the narrow columns beside them. An operator who flips a row's "within
 * hours" bit or its agent changes no hash, so --deep decodes every event and compares.
 */
export async function deepCheck(store: TrailStore): Promise<{ onEvent: (seq: number, bytes: Buffer) => void; problems: () => TrailProblem[] }> {
  if (!(store instanceof SqliteTrailStore)) {
    throw new CharterError("USAGE", "--deep reads the embedded (SQLite) trail", { hint: "For PostgreSQL, run charter trail verify without --deep; the query columns there are guarded by database permissions." });
  }
  const names = new Map<number, string>();
  for (const r of await store.select("SELECT id, kind, value FROM names")) names.set(Number(r["id"]), String(r["value"]));
  const classBits = new Map<string, bigint>();
  for (const r of await store.select("SELECT key, value FROM meta WHERE key LIKE 'class:%'")) classBits.set(String(r["key"]).slice(6), 1n << BigInt(String(r["value"])));
  const rows = store.iterateRows();
  const problems: TrailProblem[] = [];
  const onEvent = (seq: number, bytes: Buffer): void => {
    if (problems.length >= 100) return;
    const next = rows.next();
    if (next.done === true) {
      problems.push({ code: "column-mismatch", seq, message: `event ${seq} has no query row` });
      return;
    }
    const row = next.value;
    const e = eventFromBytes(bytes, "");
    let classes = 0n;
    for (const c of e.dataClasses) classes |= classBits.get(c) ?? 0n;
    const wrong: string[] = [];
    if (row.seq !== seq) wrong.push(`row ${row.seq} sits where event ${seq} is`);
    if (row.observed_ms !== Date.parse(e.observedAt)) wrong.push("observed time");
    if (row.id.toString("hex") !== e.id) wrong.push("id");
    if ((row.agent === null ? null : names.get(row.agent)) !== e.agent) wrong.push("agent");
    if (names.get(row.action) !== e.action) wrong.push("action");
    if ((row.resource === null ? null : names.get(row.resource)) !== resourceKey(e)) wrong.push("resource");
    if (names.get(row.principal) !== e.principal) wrong.push("principal");
    if (names.get(row.source) !== `${e.source}/${e.sourceInstance}`) wrong.push("source");
    if (row.classes !== classes) wrong.push("data classes");
    if (row.bits !== eventBits(e)) wrong.push("outcome, hours, scope or flags");
    if (row.manifest_seq !== e.manifestSeq) wrong.push("manifest version");
    if ((row.trace === null ? null : row.trace.toString("hex")) !== e.traceId) wrong.push("trace id");
    if (wrong.length > 0) problems.push({ code: "column-mismatch", seq, message: `the query row of event ${seq} differs from the event in: ${wrong.join(", ")}` });
  };
  return { onEvent, problems: () => problems };
}
