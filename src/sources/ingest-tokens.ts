import { createHash, randomBytes } from "node:crypto";
import { CharterError } from "../errors.js";
import type { IngestToken, IngestTokenKind, TrailStore } from "./trail-store.js";

/**
 * Ingest tokens: what a sender presents as `Authorization: Bearer <token>` to the trail's HTTP
 * receivers. An agent's token makes its telemetry self-reported and recorded under that agent
 * whatever the telemetry claims; an infrastructure source's token (a gateway, a proxy) makes its
 * events attested. A token reads `charter_it_<id>_<secret>`: the id is public (lists, logs), the
 * secret is shown once at creation and only its SHA-256 is stored.
 */
const TOKEN = /^charter_it_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const INSTANCE = /^[a-z][a-z0-9-]{0,62}$/;

export interface CreatedToken {
  /** The whole token: a secret, printed once. */
  readonly token: string;
  readonly record: IngestToken;
}

export async function createIngestToken(
  store: TrailStore,
  spec: { readonly kind: IngestTokenKind; readonly agent?: string; readonly instance?: string; readonly note?: string },
  nowMs = Date.now(),
): Promise<CreatedToken> {
  if (spec.kind === "agent" && (spec.agent === undefined || !INSTANCE.test(spec.agent))) {
    throw new CharterError("USAGE", `an agent token needs the agent's id (lowercase letters, digits, hyphens), got ${JSON.stringify(spec.agent ?? "")}`, { hint: "charter trail token create --agent support-triage" });
  }
  const instance = spec.instance ?? (spec.kind === "agent" ? (spec.agent) : undefined);
  if (instance === undefined || !INSTANCE.test(instance)) {
    throw new CharterError("USAGE", `a source token needs its source's name (lowercase letters, digits, hyphens), got ${JSON.stringify(instance ?? "")}`, { hint: "charter trail token create --source payments-gateway" });
  }
  const id = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  const record = {
    id,
    secretHash: digest(secret),
    kind: spec.kind,
    agent: spec.kind === "agent" ? (spec.agent as string) : null,
    source: spec.kind === "agent" ? ("otlp" as const) : ("events" as const),
    instance,
    attested: spec.kind === "source",
    note: spec.note ?? "",
    createdMs: nowMs,
  };
  await store.createToken(record);
  const stored = await store.findToken(id, record.secretHash);
  if (stored === null) throw new CharterError("INTERNAL", "the new ingest token could not be read back");
  return { token: `charter_it_${id}_${secret}`, record: stored };
}

/** The live token an Authorization header presents, or null (absent, malformed, unknown, revoked). */
export async function authenticate(store: TrailStore, header: string | undefined): Promise<IngestToken | null> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  const parts = match?.[1] === undefined ? null : TOKEN.exec(match[1]);
  if (!parts?.[1] || !parts[2]) return null;
  const token = await store.findToken(parts[1], digest(parts[2]));
  return token === null || token.revokedAt !== null ? null : token;
}

function digest(secret: string): Buffer {
  return createHash("sha256").update(secret, "utf8").digest();
}
