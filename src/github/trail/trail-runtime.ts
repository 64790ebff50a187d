import type { ProbotOctokit } from "probot";
import { parseDuration } from "../../manifest/duration.js";
import type { AlertStore } from "../../sources/alert-store.js";
import { LiveDetection } from "../../sources/live-detection.js";
import { openAlertStore } from "../../sources/open-alert-store.js";
import { openTrailStore } from "../../sources/open-trail-store.js";
import { PgauditFollower, squidFollower } from "../../sources/pgaudit-follower.js";
import { REDIS_ACL_URL_PREFIX, RedisAclPoller } from "../../sources/redis-acl-poller.js";
import { TrailContext } from "../../sources/trail-context.js";
import { TrailIngestor } from "../../sources/trail-ingestor.js";
import { trailRoutes } from "../../sources/trail-routes.js";
import { credentialRoutes } from "../../sources/credential-routes.js";
import { DEFAULT_GITHUB_API_URL, PROVISIONING_ENV } from "../../provision/config.js";
import { anchorBody, sealPending } from "../../sources/trail-sealer.js";
import { statusRows } from "../../sources/trail-status.js";
import type { TrailStore } from "../../sources/trail-store.js";
import { CATALOG_PATH } from "../../trail/resource-catalog.js";
import { type AlertWebhook, alertWebhookFrom } from "./alert-escalation.js";
import { readBlobTexts } from "../api/blob-texts.js";
import { readDetectionConfig } from "./detection-config.js";
import { appendRecords, EVIDENCE_BRANCH, evidenceTarget, type RepositoryIdentity } from "../merge/evidence-writer.js";
import { githubLedgerSource } from "../api/github-ledger-source.js";
import type { Handler } from "../ops/operations-routes.js";

/** How often manifests, the catalog and detection/ are re-read from the trail repository (3–4 GraphQL queries); CHARTER_TRAIL_REFRESH_INTERVAL. */
const DEFAULT_REFRESH = "1m";
/**
 * Exception records (gaps, silent sources) written per anchor round at most: a log that loses
 * lines again and again must not push the app past GitHub's content-creation limits (about 80
 * writes a minute, 500 an hour). The rest are written in later rounds; none is dropped.
 */
const MAX_EXCEPTIONS_PER_ROUND = 10;

/** A century: the silence limit of a source whose silence means nothing (see the Redis ACL LOG pollers). */
const ACL_LOG_NEVER_SILENT_MS = 100 * 365 * 24 * 3600 * 1000;

type Env = Readonly<Record<string, string | undefined>>;
type Log = (level: "info" | "warn", fields: Record<string, unknown>, message: string) => void;

/**
 * The action trail inside the app (`npm start`): its store, the one ingest path, the HTTP
 * receivers, the pgaudit followers, and the periodic work: refreshing what ingest decides
 * against from the trail repository (manifests in force, resource catalog), sealing segments,
 * anchoring them on that repository's evidence branch, and recording silent or gapped attested
 * sources there as exceptions.
 *
 * Configuration (docs/operations.md): CHARTER_TRAIL=off turns it off; CHARTER_TRAIL_DB or
 * DATABASE_URL choose the store; CHARTER_TRAIL_REPOSITORY=owner/repo names the repository whose
 * manifests govern the agents and whose evidence branch anchors the trail;
 * CHARTER_TRAIL_PGAUDIT_<INSTANCE>=path follows a PostgreSQL instance's JSON log (file or
 * directory); CHARTER_TRAIL_REDIS_<INSTANCE>=redis://… polls a Redis server's ACL LOG (as a user
 * with aclLogReaderRules()); CHARTER_TRAIL_SEAL_INTERVAL (1m), CHARTER_TRAIL_ANCHOR_INTERVAL (10m),
 * CHARTER_TRAIL_SILENT_AFTER (1h), CHARTER_TRAIL_SKEW (300 s), CHARTER_TRAIL_MAX_QUEUED (events),
 * CHARTER_TRAIL_MAX_BUFFERED (request bytes being read at once), CHARTER_TRAIL_REFRESH_INTERVAL (1m).
 *
 * Live detection (docs/detection.md) runs on every durable event unless CHARTER_DETECTION=off,
 * with the manifests of the trail repository's ledger and the rules of its default branch, and
 * keeps its alerts and state beside the trail; CHARTER_ALERT_WEBHOOK_URL and
 * CHARTER_ALERT_WEBHOOK_SECRET add the signed webhook to the GitHub issue escalation.
 */
export interface TrailRuntime {
  readonly store: TrailStore;
  readonly ingestor: TrailIngestor;
  readonly context: TrailContext;
  readonly followers: readonly PgauditFollower[];
  readonly aclLogs: readonly RedisAclPoller[];
  /** Live detection, its alert store and the webhook it escalates to; null with CHARTER_DETECTION=off. */
  readonly detection: { readonly live: LiveDetection; readonly alerts: AlertStore; readonly webhook: AlertWebhook | null } | null;
  readonly repository: { readonly owner: string; readonly repo: string } | null;
  readonly handler: (log?: Log) => Handler;
  /** One round of periodic work; `octokit` reaches the trail repository, when configured. */
  tick(octokit: ProbotOctokit | null, target: RepositoryIdentity | null, signingKey: string | undefined, log: Log): Promise<void>;
  readonly intervals: { readonly sealMs: number; readonly anchorMs: number; readonly followMs: number; readonly silentAfterMs: number };
  close(): Promise<void>;
}

export async function openTrailRuntime(env: Env): Promise<TrailRuntime | undefined> {
  if (env["CHARTER_TRAIL"]?.trim() === "off") return undefined;
  const store = await openTrailStore(env);
  const skew = Number(env["CHARTER_TRAIL_SKEW"] ?? "");
  const context = new TrailContext(Number.isFinite(skew) && skew > 0 ? { skewMs: skew * 1000 } : {});
  await context.loadBindings(store);
  const localDb = env["CHARTER_LOCAL_DB"]?.trim();
  const maxQueued = Number(env["CHARTER_TRAIL_MAX_QUEUED"] ?? "");
  const ingestor = new TrailIngestor(store, () => context.current(), Number.isSafeInteger(maxQueued) && maxQueued > 0 ? { maxQueued } : {});
  const maxBuffered = Number(env["CHARTER_TRAIL_MAX_BUFFERED"] ?? "");
  const followers = Object.entries(env)
    .filter(([name, value]) => name.startsWith("CHARTER_TRAIL_PGAUDIT_") && value)
    .map(([name, value]) => new PgauditFollower(store, ingestor, { instance: name.slice("CHARTER_TRAIL_PGAUDIT_".length).toLowerCase().replaceAll("_", "-"), path: value as string }))
    .concat(
      // squid's access log (one file, renamed to .0 when squid rotates it), in the JSON format the squid provider renders.
      Object.entries(env)
        .filter(([name, value]) => name.startsWith("CHARTER_TRAIL_SQUID_") && value)
        .map(([name, value]) => squidFollower(store, ingestor, name.slice("CHARTER_TRAIL_SQUID_".length).toLowerCase().replaceAll("_", "-"), value as string)),
    );
  const aclLogs = Object.entries(env)
    .filter(([name, value]) => name.startsWith(REDIS_ACL_URL_PREFIX) && value)
    .map(([name, value]) => new RedisAclPoller(store, ingestor, { instance: name.slice(REDIS_ACL_URL_PREFIX.length).toLowerCase().replaceAll("_", "-"), url: value as string }));
  const repository = /^([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+)$/.exec(env["CHARTER_TRAIL_REPOSITORY"]?.trim() ?? "");
  const seconds = (name: string, fallback: string): number => (parseDuration(env[name]?.trim() || fallback) ?? parseDuration(fallback) ?? 60) * 1000;
  const refreshMs = seconds("CHARTER_TRAIL_REFRESH_INTERVAL", DEFAULT_REFRESH);
  const intervals = { sealMs: seconds("CHARTER_TRAIL_SEAL_INTERVAL", "1m"), anchorMs: seconds("CHARTER_TRAIL_ANCHOR_INTERVAL", "10m"), followMs: 1000, silentAfterMs: seconds("CHARTER_TRAIL_SILENT_AFTER", "1h") };
  // A followed log that never produces a line must still show, and go silent, in the status;
  // `charter trail status` judges every source by the limit the app judges it by.
  await store.declareSilenceLimit(intervals.silentAfterMs);
  for (const follower of followers) await store.declareSource(follower.source, follower.instance, true, intervals.silentAfterMs, Date.now());
  // No denial for hours is a Redis ACL LOG's normal state, so it is never judged silent; what a
  // poller that could not read it missed shows as a gap at its next read (the marker entry).
  for (const poller of aclLogs) await store.declareSource("redis-acl", poller.instance, true, ACL_LOG_NEVER_SILENT_MS, Date.now());
  // Agents get GitHub tokens from the app (POST /api/credentials/github) once the local registry
  // and the app's own credentials are configured: the same ones charter token issue --github uses.
  const appId = env[PROVISIONING_ENV.githubAppId]?.trim();
  const privateKey = env[PROVISIONING_ENV.githubPrivateKey]?.trim();
  const githubCredentials =
    localDb && appId && privateKey
      ? // Probot accepts a PEM with escaped newlines in PRIVATE_KEY; so does this.
        { registryPath: localDb, app: { appId, privateKeyPem: privateKey.replace(/\\n/g, "\n"), apiUrl: env[PROVISIONING_ENV.githubApiUrl]?.trim() || DEFAULT_GITHUB_API_URL } }
      : null;
  let lastSeal = 0;
  let lastRefresh = 0;
  let lastAnchor = 0;
  const reported = new Set<string>();
  let detection: TrailRuntime["detection"] = null;
  if (env["CHARTER_DETECTION"]?.trim() !== "off") {
    const webhook = alertWebhookFrom(env);
    const alerts = await openAlertStore(env);
    const live = new LiveDetection(store, alerts, context.manifests);
    ingestor.onDurable(live.consume);
    await live.begin();
    detection = { live, alerts, webhook };
  }
  // Detection starts once the manifests in force have been read (the first refresh, even a failed
  // one: a trail repository without a ledger yet has no manifests to wait for), or at once
  // without a trail repository. Events ingested meanwhile are detected from the store then.
  let detecting = false;

  const tick: TrailRuntime["tick"] = async (octokit, target, signingKey, log) => {
    const now = Date.now();
    if (localDb) {
      try {
        context.loadLocalTokens(localDb);
      } catch (error) {
        log("warn", { err: (error as Error).message }, "charter: trail could not read the local registry's tokens");
      }
    }
    let refreshed = repository === null;
    if (octokit !== null && target !== null && now - lastRefresh >= refreshMs) {
      lastRefresh = now;
      refreshed = true;
      try {
        const source = await githubLedgerSource(octokit, target, EVIDENCE_BRANCH);
        await context.loadLedger(source);
      } catch (error) {
        log("warn", { err: (error as Error).message }, "charter: trail could not read the evidence branch for manifest versions");
      }
      if (detection !== null) {
        try {
          const loaded = await readDetectionConfig(octokit, target);
          for (const d of loaded.diagnostics.filter((x) => x.severity === "error").slice(0, 20)) log("warn", { file: d.file, line: d.line, rule: d.rule }, `charter: detection file left out: ${d.message}`);
          if (loaded.config !== undefined) await detection.live.configure(loaded.config);
        } catch (error) {
          log("warn", { err: (error as Error).message }, "charter: detection rules could not be read from the default branch; the ones in force stay");
        }
      }
      try {
        const text = (await readBlobTexts(octokit, target, "HEAD", [CATALOG_PATH])).get(CATALOG_PATH) ?? null;
        context.loadCatalog(CATALOG_PATH, text === null ? null : new TextEncoder().encode(text));
      } catch (error) {
        // A catalog with errors is refused whole; the last good one stays in force.
        log("warn", { err: (error as Error).message }, "charter: resource catalog not loaded");
      }
    }
    if (detection !== null) {
      try {
        if (!detecting && refreshed) {
          await detection.live.start();
          detecting = true;
          log("info", { position: detection.live.position }, "charter: live detection started");
        } else if (detecting) await detection.live.tick();
      } catch (error) {
        log("warn", { err: (error as Error).message }, "charter: live detection failed; it catches up from the trail on the next tick");
      }
    }
    for (const follower of followers) {
      try {
        await follower.catchUp();
      } catch (error) {
        log("warn", { err: (error as Error).message }, "charter: pgaudit follower failed; it retries on the next tick");
      }
    }
    for (const poller of aclLogs) {
      try {
        await poller.poll();
      } catch (error) {
        log("warn", { instance: poller.instance, err: (error as Error).message }, "charter: Redis ACL LOG poll failed; it retries on the next tick");
      }
    }
    if (signingKey !== undefined && now - lastSeal >= intervals.sealMs) {
      lastSeal = now;
      const sealed = await sealPending(store, signingKey);
      if (sealed.length > 0) log("info", { segments: sealed.map((s) => s.index), through: sealed.at(-1)?.toSeq }, "charter: trail segments sealed");
    }
    if (signingKey !== undefined && octokit !== null && target !== null && now - lastAnchor >= intervals.anchorMs) {
      lastAnchor = now;
      const evidence = evidenceTarget(target, signingKey);
      const next = await anchorBody(store);
      if (next !== null) {
        const first = next.segments[0] ?? 0;
        const last = next.segments.at(-1) ?? 0;
        const outcome = await appendRecords(octokit, evidence, {
          idempotencyKey: `trail-anchor:${next.body.origin}:${String(first)}-${String(last)}`,
          records: [() => ({ kind: "trail-anchor", body: next.body, observedAt: new Date().toISOString() })],
          observedAt: () => new Date().toISOString(),
          message: (seq) => `Evidence ${String(seq)}: action trail segments ${String(first)}–${String(last)} anchored`,
        });
        if (outcome.status === "appended") {
          await store.markAnchored(next.segments, { seq: outcome.seq, sha256: outcome.sha256 });
          log("info", { segments: next.segments.length, evidence: outcome.seq }, "charter: trail anchored on the evidence branch");
        }
      }
      // Attested sources that went silent, and gaps not yet on the record, become exceptions.
      const origin = await store.origin();
      let budget = MAX_EXCEPTIONS_PER_ROUND;
      for (const gap of (await store.gaps({ unreported: true })).slice(0, budget)) {
        budget--;
        const outcome = await appendRecords(octokit, evidence, {
          idempotencyKey: `trail-exception:${origin}:gap:${String(gap.id)}`,
          records: [() => ({ kind: "trail-exception", body: { origin, source: gap.source, instance: gap.instance, kind: gap.kind, detail: gap.detail.slice(0, 2000), detectedAt: new Date(gap.detectedMs).toISOString() }, observedAt: new Date().toISOString() })],
          observedAt: () => new Date().toISOString(),
          message: (seq) => `Evidence ${String(seq)}: action trail source ${gap.source}/${gap.instance} lost events`,
        });
        if (outcome.status === "appended") await store.markGapsReported([gap.id], outcome.seq);
      }
      for (const row of await statusRows(store, now, intervals.silentAfterMs)) {
        const key = `${row.source}/${row.instance}`;
        if (row.state !== "silent" || !row.attested) {
          reported.delete(key);
          continue;
        }
        if (reported.has(key) || budget <= 0) continue;
        budget--;
        const since = row.quietSince ?? "never";
        const outcome = await appendRecords(octokit, evidence, {
          idempotencyKey: `trail-exception:${origin}:silent:${key}:${since}`,
          records: [() => ({ kind: "trail-exception", body: { origin, source: row.source, instance: row.instance, kind: "silent", detail: `nothing received since ${since}${row.lastReceivedAt === null ? " (configured then, never sent anything)" : ""} (allowed: ${String(row.silentAfterSeconds)} s)`, detectedAt: new Date(now).toISOString() }, observedAt: new Date().toISOString() })],
          observedAt: () => new Date().toISOString(),
          message: (seq) => `Evidence ${String(seq)}: action trail source ${key} silent`,
        });
        if (outcome.status !== "duplicate") log("warn", { source: key, since }, "charter: attested trail source silent; recorded as an exception");
        reported.add(key);
      }
    }
  };

  return {
    store,
    ingestor,
    context,
    followers,
    aclLogs,
    detection,
    repository: repository === null ? null : { owner: repository[1] as string, repo: repository[2] as string },
    handler: (log) => {
      const trail = trailRoutes({ store, ingestor, ...(log === undefined ? {} : { log }), ...(Number.isSafeInteger(maxBuffered) && maxBuffered > 0 ? { maxBufferedBytes: maxBuffered } : {}) });
      const github = githubCredentials === null ? null : credentialRoutes({ store, ingestor, ...githubCredentials, ...(log === undefined ? {} : { log }) });
      return async (req, res) => (github !== null && (await github(req, res))) || trail(req, res);
    },
    tick,
    intervals,
    async close() {
      await Promise.allSettled(aclLogs.map((p) => p.close()));
      await ingestor.close();
      if (detection !== null) {
        await detection.live.close();
        await detection.alerts.close();
      }
      await store.close();
    },
  };
}
