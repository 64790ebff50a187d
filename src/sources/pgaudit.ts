import { createHash } from "node:crypto";
import type { SourceEvent, TrailOutcome } from "../trail/event.js";

/**
 * PostgreSQL's JSON log (log_destination = jsonlog, PostgreSQL 15+) with pgaudit, read as the
 * attested record of what each role did. The lines that become events:
 *
 *   AUDIT: SESSION|OBJECT,...   pgaudit, one line per relation with pgaudit.log_relation = on
 *   ERROR 42501                 a permission denial (pgaudit logs no AUDIT line for it)
 *   connection authorized       log_connections = on
 *   FATAL 28P01 / 28000         a refused login
 *
 * Everything else the server logs (checkpoints, autovacuum, other errors) is not an action.
 * Whatever a client sent (statement text, literals, names) is attacker-written: the statement is
 * kept only as its SHA-256 (its literals may hold personal data), names are kept verbatim and
 * mapped into the permission vocabulary only when they fit it.
 */
export interface PgLogLine {
  /** Identifies the log file (its first line's hash), so an offset names one line for good. */
  readonly fileKey: string;
  /** Byte offset of the line in its file. */
  readonly offset: number;
  readonly text: string;
}

export type PgLineResult = { readonly kind: "event"; readonly event: SourceEvent } | { readonly kind: "skip" } | { readonly kind: "malformed"; readonly reason: string };

interface JsonLogRecord {
  timestamp?: unknown;
  user?: unknown;
  dbname?: unknown;
  pid?: unknown;
  session_id?: unknown;
  error_severity?: unknown;
  state_code?: unknown;
  message?: unknown;
  statement?: unknown;
  application_name?: unknown;
  backend_type?: unknown;
}

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?) (UTC|GMT|[+-]\d{2}(?::?\d{2})?)$/;
const TRACEPARENT = /traceparent\s*=\s*'00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}'/;
const DENIED_RELATION = /^permission denied for (?:table|relation|view|sequence|schema|function) (.+)$/;

/** The file key: SHA-256 of the file's first line, 16 hex digits. */
export function fileKeyOf(firstLine: string): string {
  return createHash("sha256").update(firstLine, "utf8").digest("hex").slice(0, 16);
}

export function parsePgLogLine(line: PgLogLine, instance: string): PgLineResult {
  let record: JsonLogRecord;
  try {
    const value: unknown = JSON.parse(line.text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) return { kind: "malformed", reason: "not a JSON object" };
    record = value;
  } catch {
    return { kind: "malformed", reason: "not JSON (a torn or foreign line)" };
  }
  const message = typeof record.message === "string" ? record.message : "";
  const severity = typeof record.error_severity === "string" ? record.error_severity : "";
  const state = typeof record.state_code === "string" ? record.state_code : "";
  const user = typeof record.user === "string" ? record.user : "";
  const database = typeof record.dbname === "string" ? record.dbname : null;
  const observedAt = timestampOf(record.timestamp);
  if (observedAt === null) return message.startsWith("AUDIT: ") ? { kind: "malformed", reason: "no readable timestamp (set log_timezone = 'UTC')" } : { kind: "skip" };

  const base = {
    source: "pgaudit" as const,
    sourceInstance: instance,
    attested: true,
    sourceKey: `${line.fileKey}:${String(line.offset)}`,
    observedAt,
    principal: user,
    claimedAgent: null,
    tokenAgent: null,
    system: "postgres" as const,
    instance,
    tool: null,
    model: null,
    inputTokens: null,
    outputTokens: null,
  };
  const session: Record<string, string> = {};
  if (typeof record.session_id === "string") session["session"] = record.session_id.slice(0, 64);
  if (typeof record.application_name === "string" && record.application_name !== "") session["application"] = record.application_name.slice(0, 64);

  if (message.startsWith("AUDIT: ")) {
    const fields = csvFields(message.slice("AUDIT: ".length));
    if (fields === null || fields.length < 8) return { kind: "malformed", reason: "an AUDIT line that is not pgaudit's CSV" };
    const [auditType = "", statementId = "", substatementId = "", auditClass = "", command = "", objectType = "", objectName = "", statement = ""] = fields;
    // Drivers read the system catalogs all the time; they hold no one's data.
    if (/^(?:pg_catalog|information_schema)\./.test(objectName)) return { kind: "skip" };
    const trace = TRACEPARENT.exec(statement);
    return {
      kind: "event",
      event: {
        ...base,
        action: actionOf(command),
        resource: objectName === "" || database === null ? null : `${database}.${objectName}`,
        outcome: "allowed",
        errorCode: null,
        traceId: trace?.[1] ?? null,
        spanId: trace?.[2] ?? null,
        detail: {
          ...session,
          audit: auditType.toLowerCase().slice(0, 16),
          class: auditClass.toLowerCase().slice(0, 16),
          command: command.slice(0, 64),
          objectType: objectType.toLowerCase().slice(0, 32),
          statement: `${statementId.slice(0, 12)}.${substatementId.slice(0, 12)}`,
          statementSha256: sha256(statement),
        },
      },
    };
  }

  if (severity === "ERROR" && state === "42501") {
    const statement = typeof record.statement === "string" ? record.statement : "";
    const relation = DENIED_RELATION.exec(message)?.[1] ?? null;
    const trace = TRACEPARENT.exec(statement);
    return {
      kind: "event",
      event: {
        ...base,
        action: actionOf(firstKeyword(statement)),
        // The denial names the relation as the statement wrote it, without its schema when the
        // statement left it out; a name that is not database.schema.table stays unmapped.
        resource: relation === null || database === null ? null : `${database}.${relation}`,
        outcome: "denied",
        errorCode: state,
        traceId: trace?.[1] ?? null,
        spanId: trace?.[2] ?? null,
        detail: { ...session, message: message.slice(0, 200), statementSha256: sha256(statement) },
      },
    };
  }

  if (message.startsWith("connection authorized:")) {
    return { kind: "event", event: connection(base, database, "allowed", null, session) };
  }
  if (severity === "FATAL" && (state === "28P01" || state === "28000")) {
    return { kind: "event", event: connection(base, database, "denied", state, { ...session, message: message.slice(0, 200) }) };
  }
  return { kind: "skip" };
}

function connection(base: Omit<SourceEvent, "action" | "resource" | "outcome" | "errorCode" | "traceId" | "spanId" | "detail">, database: string | null, outcome: TrailOutcome, errorCode: string | null, detail: Record<string, string>): SourceEvent {
  return { ...base, action: "connect", resource: database, outcome, errorCode, traceId: null, spanId: null, detail };
}

/** pgaudit's command ("SELECT", "INSERT", "CREATE TABLE") as the vocabulary's action: select, insert, create_table. */
function actionOf(command: string): string {
  const action = command.trim().toLowerCase().replace(/\s+/g, "_").replace(/[^a-z0-9_]/g, "");
  if (action === "truncate_table") return "truncate";
  return action === "" ? "unknown" : action.slice(0, 64);
}

function firstKeyword(statement: string): string {
  const stripped = statement.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/--[^\n]*/g, " ").trim();
  return /^[A-Za-z]+/.exec(stripped)?.[0] ?? "unknown";
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** "2026-03-03 14:00:00.123 UTC" → ISO 8601 UTC; null when it is not that shape. */
function timestampOf(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const match = TIMESTAMP.exec(value);
  if (!match) return null;
  const zone = match[3] === "UTC" || match[3] === "GMT" ? "Z" : normalizeOffset(match[3] ?? "");
  const ms = Date.parse(`${match[1] ?? ""}T${match[2] ?? ""}${zone}`);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

function normalizeOffset(offset: string): string {
  const digits = offset.slice(1).replace(":", "");
  return `${offset[0] ?? "+"}${digits.slice(0, 2)}:${(digits.slice(2) || "00").slice(0, 2)}`;
}

/** pgaudit writes its fields as CSV (quotes doubled inside quoted fields). */
function csvFields(text: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  while (i <= text.length) {
    if (text[i] === '"') {
      let value = "";
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q === -1) return null;
        if (text[q + 1] === '"') {
          value += text.slice(i, q + 1);
          i = q + 2;
          continue;
        }
        value += text.slice(i, q);
        i = q + 1;
        break;
      }
      out.push(value);
      if (i < text.length && text[i] !== ",") return null;
      i++;
    } else {
      const comma = text.indexOf(",", i);
      const end = comma === -1 ? text.length : comma;
      out.push(text.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}
