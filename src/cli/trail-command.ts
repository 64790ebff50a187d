import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseOptions } from "./parse-options.js";
import { CharterError } from "../errors.js";
import { describeProblems, EVENTS_LIMITS, parseEventLines } from "../sources/events-format.js";
import { createIngestToken } from "../sources/ingest-tokens.js";
import { openTrailStore } from "../sources/open-trail-store.js";
import { parseOtlpTraces } from "../sources/otlp.js";
import { PgauditFollower, squidFollower } from "../sources/pgaudit-follower.js";
import { parseAclLogState } from "../sources/redis-acl-log.js";
import { RedisAclPoller, redisAclUrlVariable } from "../sources/redis-acl-poller.js";
import { TrailIngestor } from "../sources/trail-ingestor.js";
import type { TrailStore } from "../sources/trail-store.js";
import { parseDuration } from "../manifest/duration.js";
import { EXIT, type CliIo } from "./io.js";
import { loadCliContext } from "./trail-context-loader.js";
import { trailProveCommand, trailSealCommand, trailVerifyCommand } from "./trail-verify-command.js";
import { statusRows } from "../sources/trail-status.js";

export const TRAIL_HELP = `Usage: charter trail ingest --source pgaudit|squid|otlp|events|redis-acl [FILE|-] [--instance NAME] [--agent ID | --attested]
       charter trail token create (--agent ID | --source NAME) [--note TEXT]
       charter trail token revoke TOKEN_ID
       charter trail token list
       charter trail status [--silent-after DURATION] [--format table|json]
       charter trail seal
       charter trail verify [--branch NAME] [--key VERIFIER_KEY] [--deep]
       charter trail prove SEQ|ID
       common options: [--db PATH] [--repo DIR]

The action trail: every action agents take on protected resources, attributed to the agent,
stamped with the authorization in force, hash-chained and sealed into signed segments anchored
on the evidence branch.

ingest   runs the app's ingest path on a file (or standard input): backfill, or a source
         without a receiver. pgaudit: a PostgreSQL JSON log (--instance names the server, as
         the permission vocabulary does, e.g. crm-prod); squid: the egress proxy's JSON access
         log as the squid provider configures it (--instance names the proxy, e.g. egress);
         otlp: OTLP/HTTP JSON export requests,
         one per line (--agent: the agent whose telemetry it is); events: Charter's event format,
         NDJSON (--instance names the sending source; --attested for infrastructure, or --agent
         for an agent's own events); redis-acl: one read of a Redis server's ACL LOG (denials
         only), from CHARTER_TRAIL_REDIS_<INSTANCE> (no FILE), continuing from the state the
         app's poller saved. Re-ingesting what is stored adds nothing.
token    ingest tokens for the HTTP receivers: one per agent for its telemetry (self-reported),
         one per infrastructure source (attested). The token is printed once; only its hash is
         kept. Revoke by its id (the 16 hex digits after charter_it_).
status   per source and instance, including configured ones that never sent anything:
         events, the last one seen, the position reached, gaps, and whether it has been silent
         longer than its limit (the CHARTER_TRAIL_SILENT_AFTER the app runs with, 1h before the
         app has run; --silent-after applies another). Exit 1 when a source is
         silent or gapped.
seal     seals the events not yet in a segment (the app does this on its own), signing the
         checkpoint with CHARTER_SIGNING_KEY.
verify   offline: every stored event against its chain hash, the trail's Merkle tree against
         each segment's signed checkpoint and the trail-anchor records on the evidence branch.
         Edits, deletions, insertions, reordering and truncation are reported. --deep also
         checks every query column against the event's stored bytes.
prove    prints one event with its inclusion proof against the signed checkpoint of its segment.

--db PATH is the SQLite trail (default CHARTER_TRAIL_DB, or .charter/trail.sqlite); with
DATABASE_URL set and no --db, the PostgreSQL schema CHARTER_TRAIL_SCHEMA (default charter_trail).
--repo is the clone whose evidence branch and resource catalog ingest and verify read
(default: the repository around the working directory).

Exit status: 0 done, 1 verify found the trail altered or status found a silent source or a gap,
2 usage error, no trail, or internal error.
`;

export async function trailCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    io.out(TRAIL_HELP);
    return sub === undefined ? EXIT.error : EXIT.ok;
  }
  // One help for every subcommand, before any of them acts on its other arguments.
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(TRAIL_HELP);
    return EXIT.ok;
  }
  switch (sub) {
    case "ingest":
      return ingest(rest, io);
    case "token":
      return token(rest, io);
    case "status":
      return status(rest, io);
    case "seal":
      return trailSealCommand(rest, io);
    case "verify":
      return trailVerifyCommand(rest, io);
    case "prove":
      return trailProveCommand(rest, io);
    default:
      throw new CharterError("USAGE", `unknown trail command "${sub}"`, { hint: "Use one of: ingest, token, status, seal, verify, prove." });
  }
}

export const COMMON_OPTIONS = { db: { type: "string" }, repo: { type: "string" }, help: { type: "boolean", short: "h" } } as const;

export async function withStore<T>(io: CliIo, db: string | undefined, work: (store: TrailStore) => Promise<T>): Promise<T> {
  const store = await openTrailStore(process.env, io.cwd, db);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** The clone to read: --repo, or the repository around the working directory when there is one. */
export function repositoryRoot(io: CliIo, repo: string | undefined): string | null {
  if (repo !== undefined) return resolve(io.cwd, repo);
  for (let dir = resolve(io.cwd); ; dir = resolve(dir, "..")) {
    if (existsSync(join(dir, ".git"))) return dir;
    if (resolve(dir, "..") === dir) return null;
  }
}

const SOURCES = ["pgaudit", "squid", "otlp", "events", "redis-acl"] as const;
/** The silence limit of a source no deployment configured one for. */
export const DEFAULT_SILENT_AFTER_MS = 60 * 60 * 1000;
const INSTANCE = /^[a-z][a-z0-9-]{0,62}$/;

async function ingest(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { ...COMMON_OPTIONS, source: { type: "string" }, instance: { type: "string" }, agent: { type: "string" }, attested: { type: "boolean" }, branch: { type: "string" } },
  }, TRAIL_HELP);
  if (values.help) {
    io.out(TRAIL_HELP);
    return EXIT.ok;
  }
  const source = values.source;
  if (source === undefined || !(SOURCES as readonly string[]).includes(source)) {
    throw new CharterError("USAGE", `--source ${JSON.stringify(source ?? "")} is not a source`, { hint: `Use one of: ${SOURCES.join(", ")}.` });
  }
  if (positionals.length > 1) throw new CharterError("USAGE", "charter trail ingest reads one file (or - for standard input)", { hint: "Run it once per file." });
  const file = positionals[0] ?? "-";
  if (values.instance !== undefined && !INSTANCE.test(values.instance)) {
    throw new CharterError("USAGE", `--instance ${JSON.stringify(values.instance)} is not a lowercase name`, { hint: "Use the instance as the permission vocabulary names it, e.g. crm-prod." });
  }
  if (values.agent !== undefined && values.attested === true) throw new CharterError("USAGE", "--agent and --attested say different things", { hint: "An agent's own events are self-reported; leave out --attested." });
  if (source === "redis-acl") return pollAclLog(values.instance, positionals.length, values, io);
  const text = readInput(file, io);
  return withStore(io, values.db, async (store) => {
    const { context, notes } = await loadCliContext(store, repositoryRoot(io, values.repo), process.env, values.branch);
    for (const note of notes) io.err(`charter trail ingest: ${note}\n`);
    const ingestor = new TrailIngestor(store, () => context.current());
    let stored = 0;
    let duplicates = 0;
    if (source === "pgaudit") {
      if (values.instance === undefined) throw new CharterError("USAGE", "--source pgaudit needs --instance", { hint: "Name the PostgreSQL instance, e.g. --instance crm-prod." });
      if (file === "-") throw new CharterError("USAGE", "--source pgaudit reads a log file, not standard input", { hint: "Give the path of the JSON log file; its first line identifies it, so a follower and a backfill record each line once." });
      // The follower's own reading: same file identity and offsets, so a backfill and the live
      // follower record each line once between them. A backfill does not move the follower's position.
      const follower = new PgauditFollower(store, ingestor, { instance: values.instance, path: resolve(io.cwd, file), savePosition: false });
      const before = (await store.tip()).seq;
      await follower.catchUp();
      stored = (await store.tip()).seq - before;
    } else if (source === "squid") {
      if (values.instance === undefined) throw new CharterError("USAGE", "--source squid needs --instance", { hint: "Name the proxy as provisioning.providers.squid does, e.g. --instance egress." });
      if (file === "-") throw new CharterError("USAGE", "--source squid reads an access log file, not standard input", { hint: "Give the path of squid's access.log; its first line identifies it, so a follower and a backfill record each line once." });
      const follower = squidFollower(store, ingestor, values.instance, resolve(io.cwd, file), { savePosition: false });
      const before = (await store.tip()).seq;
      await follower.catchUp();
      stored = (await store.tip()).seq - before;
    } else if (source === "otlp") {
      if (values.agent === undefined) throw new CharterError("USAGE", "--source otlp needs --agent", { hint: "Telemetry is self-reported: name the agent it belongs to, as its ingest token would." });
      const lines = text.split("\n").filter((l) => l.trim() !== "");
      for (const [i, line] of lines.entries()) {
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          throw new CharterError("INVALID_INPUT", `${file}: line ${i + 1} is not JSON`, { hint: "Give one OTLP/HTTP JSON export request per line." });
        }
        const parsed = parseOtlpTraces(value, { agent: values.agent, instance: values.instance ?? values.agent });
        if (!parsed.ok) throw new CharterError("INVALID_INPUT", `${file}: line ${i + 1}: ${parsed.field}: ${parsed.message}`, { hint: "Fix the export request; nothing of this file was stored." });
        const result = await ingestor.submit(parsed.events);
        stored += result.stored.length;
        duplicates += result.duplicates;
      }
    } else {
      const instance = values.instance ?? values.agent;
      if (instance === undefined) throw new CharterError("USAGE", "--source events needs --instance (the sending source) or --agent", { hint: "e.g. --instance payments-gateway --attested" });
      const origin = { instance, attested: values.attested === true, tokenAgent: values.agent ?? null };
      const lines = text.split("\n");
      for (let i = 0; i < lines.length; i += EVENTS_LIMITS.maxEvents) {
        const parsed = parseEventLines(lines.slice(i, i + EVENTS_LIMITS.maxEvents).join("\n"), origin);
        if (!parsed.ok) {
          throw new CharterError("INVALID_INPUT", `${file}: ${describeProblems(parsed.problems.map((p) => ({ ...p, line: p.line + i })))}`, {
            hint: i === 0 ? "Fix these lines; nothing of this file was stored." : `The first ${i} lines were stored; fix these and ingest the file again (stored lines are not added twice).`,
          });
        }
        const result = await ingestor.submit(parsed.events);
        stored += result.stored.length;
        duplicates += result.duplicates;
      }
    }
    await ingestor.close();
    const tip = await store.tip();
    io.out(`${stored} event${stored === 1 ? "" : "s"} stored, ${duplicates} already in the trail; the trail holds ${tip.seq} (${store.location})\n`);
    return EXIT.ok;
  });
}

/** A position as a reader wants it: an ACL LOG's saved entries are summed up, not listed. */
function positionText(source: string, position: string): string {
  if (source !== "redis-acl") return position;
  const state = parseAclLogState(position);
  return state === null ? position.slice(0, 80) : `read ${new Date(state.readMs).toISOString()}, ${state.entries.length} entries remembered`;
}

/** One poll of a Redis ACL LOG, through the app's poller and its saved state. */
async function pollAclLog(instance: string | undefined, files: number, values: { db?: string | undefined; repo?: string | undefined; branch?: string | undefined }, io: CliIo): Promise<number> {
  if (instance === undefined) throw new CharterError("USAGE", "--source redis-acl needs --instance", { hint: "Name the Redis instance, e.g. --instance cache-prod." });
  if (files > 0) throw new CharterError("USAGE", "--source redis-acl reads the server, not a file", { hint: `Set ${redisAclUrlVariable(instance)} to the ACL LOG reader's redis:// URL and leave out the file.` });
  const url = process.env[redisAclUrlVariable(instance)]?.trim();
  if (!url) throw new CharterError("INVALID_CONFIG", `${redisAclUrlVariable(instance)} is not set`, { hint: "Set it to redis://USER:PASSWORD@HOST:PORT/0 for a user with the ACL LOG reader's rules (docs/providers.md)." });
  return withStore(io, values.db, async (store) => {
    const { context, notes } = await loadCliContext(store, repositoryRoot(io, values.repo), process.env, values.branch);
    for (const note of notes) io.err(`charter trail ingest: ${note}\n`);
    const ingestor = new TrailIngestor(store, () => context.current());
    const poller = new RedisAclPoller(store, ingestor, { instance, url });
    try {
      const { events, gaps } = await poller.poll();
      await ingestor.close();
      io.out(`${events} event${events === 1 ? "" : "s"} stored from the ACL LOG of ${instance}${gaps > 0 ? `, ${gaps} gap(s) recorded (charter trail status shows them)` : ""}; the trail holds ${(await store.tip()).seq} (${store.location})\n`);
      return EXIT.ok;
    } finally {
      await poller.close();
    }
  });
}

function readInput(file: string, io: CliIo): string {
  const limit = 1024 * 1024 * 1024;
  try {
    const bytes = readFileSync(file === "-" ? 0 : resolve(io.cwd, file));
    if (bytes.length > limit) throw new CharterError("LIMIT_EXCEEDED", `${file} is larger than 1 GiB`, { hint: "Split the file." });
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    if (error instanceof CharterError) throw error;
    throw new CharterError("IO", `cannot read ${file}: ${(error as Error).message}`, { hint: "Check the path; the file must be UTF-8." });
  }
}

async function token(argv: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseOptions({
    args: rest,
    allowPositionals: action === "revoke",
    strict: true,
    options: { ...COMMON_OPTIONS, agent: { type: "string" }, source: { type: "string" }, note: { type: "string" }, format: { type: "string", default: "text" } },
  }, TRAIL_HELP);
  return withStore(io, values.db, async (store) => {
    if (action === "create") {
      if ((values.agent === undefined) === (values.source === undefined)) throw new CharterError("USAGE", "name either --agent ID (an agent's telemetry) or --source NAME (an infrastructure source)", { hint: "charter trail token create --agent support-triage" });
      const created = await createIngestToken(store, values.agent !== undefined ? { kind: "agent", agent: values.agent, ...(values.note ? { note: values.note } : {}) } : { kind: "source", instance: values.source as string, ...(values.note ? { note: values.note } : {}) });
      // The secret goes to standard output alone, so that it can be piped into a secret store.
      io.out(`${created.token}\n`);
      io.err(`charter trail token: created ${created.record.id} (${created.record.kind === "agent" ? `agent ${created.record.agent ?? ""}, self-reported` : `source ${created.record.instance}, attested`}); it is shown only now\n`);
      return EXIT.ok;
    }
    if (action === "revoke") {
      const id = positionals[0];
      if (id === undefined || !/^[0-9a-f]{16}$/.test(id)) throw new CharterError("USAGE", "name the token by its id (16 hex digits)", { hint: "charter trail token list shows the ids." });
      const revoked = await store.revokeToken(id, Date.now());
      if (!revoked) throw new CharterError("NOT_FOUND", `no live ingest token ${id}`, { hint: "charter trail token list shows the ids and which are revoked." });
      io.out(`revoked ${id}: its sender's requests are refused from now on (401)\n`);
      return EXIT.ok;
    }
    if (action === "list") {
      const tokens = await store.listTokens();
      if (values.format === "json") io.out(`${JSON.stringify(tokens, null, 2)}\n`);
      else for (const t of tokens) io.out(`${t.id}  ${t.kind.padEnd(6)}  ${(t.agent ?? t.instance).padEnd(24)}  ${t.attested ? "attested     " : "self-reported"}  created ${t.createdAt}${t.revokedAt === null ? "" : `  revoked ${t.revokedAt}`}${t.note ? `  ${t.note}` : ""}\n`);
      return EXIT.ok;
    }
    throw new CharterError("USAGE", `unknown token command "${action ?? ""}"`, { hint: "Use create, revoke or list." });
  });
}

async function status(argv: readonly string[], io: CliIo): Promise<number> {
    const { values } = parseOptions({ args: [...argv], strict: true, options: { ...COMMON_OPTIONS, "silent-after": { type: "string" }, format: { type: "string", default: "table" } } }, TRAIL_HELP);
    const given = values["silent-after"];
    const silentSeconds = given === undefined ? undefined : parseDuration(given);
    if (given !== undefined && silentSeconds === undefined) throw new CharterError("USAGE", `--silent-after ${JSON.stringify(given)} is not a duration`, { hint: "e.g. 30m, 1h, 1d" });
  return withStore(io, values.db, async (store) => {
    // Without --silent-after, sources are judged by the limit the app judges them by.
    const rows = await statusRows(store, Date.now(), DEFAULT_SILENT_AFTER_MS, silentSeconds === undefined ? undefined : silentSeconds * 1000);
    if (values.format === "json") {
      io.out(`${JSON.stringify({ trail: store.location, tip: await store.tip(), sources: rows }, null, 2)}\n`);
    } else {
      const tip = await store.tip();
      io.out(`Trail ${store.location}: ${tip.seq} events\n\n`);
      for (const r of rows) {
        const state =
          r.state === "silent"
            ? `silent since ${r.quietSince ?? "ever"}${r.lastReceivedAt === null ? " (configured, nothing received)" : ""}, limit ${String(r.silentAfterSeconds)} s`
            : r.state === "waiting"
              ? `waiting: configured ${r.configuredAt ?? ""}, nothing received yet`
              : r.state;
        io.out(`${r.source}/${r.instance}  ${r.attested ? "attested" : "self-reported"}  ${r.events} events  last ${r.lastEventAt ?? "never"}  ${state}${r.position === null ? "" : `  at ${positionText(r.source, r.position)}`}${r.gaps > 0 ? `  ${r.gaps} gap(s): ${r.lastGap ?? ""}` : ""}\n`);
      }
      if (rows.length === 0) io.out("No source is configured and none has sent anything yet.\n");
    }
    return rows.some((r) => r.state === "silent" || r.state === "gapped") ? EXIT.findings : EXIT.ok;
  });
}
