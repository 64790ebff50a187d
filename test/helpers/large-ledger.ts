import { spawnGroup } from "./child-processes.js";
import { execFileSync } from "node:child_process";
import { canonicalBytes } from "../../src/evidence/canonical-json.js";
import { CHECKPOINT_PATH, checkpointFor, EMPTY_LEDGER, type LedgerTip, PUBLIC_KEY_PATH, recordPath } from "../../src/evidence/ledger.js";
import { appendLeaf, frontierRoot, leafHash } from "../../src/evidence/merkle.js";
import { RECORD_SCHEMA, recordHash, validateRecord } from "../../src/evidence/record.js";
import { generateSignerKey } from "../../src/evidence/signed-note.js";
import { changeBody, genesisBody, observedAt, ORIGIN, REPOSITORY } from "../evidence/ledger-fixture.js";

export interface LargeLedger {
  readonly signerKey: string;
  readonly verifierKey: string;
  readonly size: number;
  /** Sum of the record files' sizes. */
  readonly bytes: number;
  /** Merkle root over the records, lowercase hex. */
  readonly root: string;
  readonly checkpoint: string;
}

/**
 * Which kinds of record follow the genesis record. "changes": change records with a provisioning
 * record after every tenth, the most a verifier must remember a record (two fingerprints for
 * each change). "realistic": the spread of a repository's working ledger, in runs of 50 records:
 * 27 changes (one an emergency change), 19 provisioning records (most right after the change
 * they deploy), 2 drift records, an exception and the emergency's retro-approval (54%, 38%, 4%,
 * 2%, 2%), with an access review of 20 agents every 5,000 records in place of a drift record.
 */
export type LedgerMix = "changes" | "realistic";

/**
 * Writes a ledger of `size` records (see LedgerMix) as the charter-evidence branch of a new
 * repository at `dir`, through one `git fast-import` stream: a million records take minutes, not
 * the hours the app's own append path would. Each record's bytes are JSON.stringify over keys
 * inserted in sorted order, which is RFC 8785's form for these records; the first record of each
 * kind is checked against canonicalBytes and the schema so the shortcut cannot drift from the
 * real format.
 */
export async function writeLargeLedger(dir: string, size: number, keys = generateSignerKey(ORIGIN), mix: LedgerMix = "changes"): Promise<LargeLedger> {
  const git = (...args: string[]): string => execFileSync("git", args, { cwd: dir, encoding: "utf8" }).trim();
  execFileSync("git", ["init", "-q", "-b", "main", dir]);
  git("-c", "user.name=Charter Test", "-c", "user.email=test@charter.invalid", "commit", "-q", "--allow-empty", "-m", "main");

  const { child } = spawnGroup("git", ["fast-import", "--quiet", "--done"], { cwd: dir, stdio: ["pipe", "ignore", "pipe"] });
  const stdin = child.stdin;
  if (stdin === null) throw new Error("git fast-import has no stdin");
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      resolve(code ?? -1);
    });
  });
  const write = async (data: string | Uint8Array): Promise<void> => {
    if (!stdin.write(data)) {
      await new Promise<void>((resolve) => {
        stdin.once("drain", resolve);
      });
    }
  };

  let tip: LedgerTip = EMPTY_LEDGER;
  let bytes = 0;
  const checked = new Set<string>();
  const paths: string[] = [];
  let emergency: { seq: number; sha256: string } | null = null;
  for (let seq = 0; seq < size; seq++) {
    const record = mix === "realistic" ? realisticRecordAt(seq, tip, keys.verifierKey, emergency) : recordAt(seq, tip, keys.verifierKey);
    const encoded = new TextEncoder().encode(JSON.stringify(record) + "\n");
    if (!checked.has(record.kind)) {
      if (Buffer.compare(Buffer.from(encoded), Buffer.from(canonicalBytes(record))) !== 0) throw new Error(`large ledger: the ${record.kind} record is not canonical`);
      const invalid = validateRecord(record, recordPath(seq))[0];
      if (invalid) throw new Error(`large ledger: the ${record.kind} record does not match the schema: ${invalid.pointer} ${invalid.message}`);
      checked.add(record.kind);
    }
    if (record.kind === "change" && (record["body"] as { emergency?: { active?: boolean } }).emergency?.active === true) emergency = { seq, sha256: recordHash(encoded) };
    tip = {
      size: seq + 1,
      lastHash: recordHash(encoded),
      lastObservedAt: record.observedAt,
      origin: ORIGIN,
      frontier: appendLeaf(tip.frontier, leafHash(encoded)),
    };
    bytes += encoded.length;
    paths.push(recordPath(seq));
    await write(`blob\nmark :${seq + 1}\ndata ${encoded.length}\n`);
    await write(encoded);
    await write("\n");
  }
  const checkpoint = checkpointFor(tip, [keys.signerKey]);
  let commit = `commit refs/heads/charter-evidence\ncommitter Charter Test <test@charter.invalid> 1767225600 +0000\ndata 8\nevidence\n`;
  await write(commit);
  commit = "";
  for (let i = 0; i < paths.length; i++) {
    commit += `M 100644 :${i + 1} ${paths[i] ?? ""}\n`;
    if (commit.length > 1 << 16) {
      await write(commit);
      commit = "";
    }
  }
  const inline = (path: string, text: string): string => `M 100644 inline ${path}\ndata ${Buffer.byteLength(text)}\n${text}\n`;
  await write(commit + inline(CHECKPOINT_PATH, checkpoint) + inline(PUBLIC_KEY_PATH, `${keys.verifierKey}\n`) + "\ndone\n");
  stdin.end();
  const code = await exited;
  if (code !== 0) throw new Error(`git fast-import failed (${code}): ${stderr}`);
  return { ...keys, size, bytes, root: Buffer.from(frontierRoot(tip.frontier)).toString("hex"), checkpoint };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The record at seq, with every object's keys inserted in sorted order. */
function recordAt(seq: number, tip: LedgerTip, verifierKey: string): { kind: string; observedAt: string } & Record<string, Json> {
  const kind = seq === 0 ? "genesis" : seq % 10 === 0 ? "provisioning" : "change";
  const body =
    kind === "genesis"
      ? genesisBody(verifierKey)
      : kind === "provisioning"
        ? provisioningBody({ seq: seq - 1, sha256: tip.lastHash ?? "" })
        : changeBody(seq);
  const record = { schema: RECORD_SCHEMA, seq, kind, prev: tip.lastHash, observedAt: observedAt(seq), body };
  return sorted(record as unknown as Json) as { kind: string; observedAt: string } & Record<string, Json>;
}

const RUN = 50;
const ACCESS_REVIEW_EVERY = 5_000;
const REVIEWED_AGENTS = 20;

/** The record at seq in the "realistic" mix; `emergency` is the last emergency change written. */
function realisticRecordAt(seq: number, tip: LedgerTip, verifierKey: string, emergency: { seq: number; sha256: string } | null): { kind: string; observedAt: string } & Record<string, Json> {
  const c = seq % RUN;
  const previous = { seq: seq - 1, sha256: tip.lastHash ?? "" };
  let kind: string;
  let body: Json;
  if (seq === 0) [kind, body] = ["genesis", genesisBody(verifierKey) as unknown as Json];
  else if (c < 38 && c % 2 === 0) [kind, body] = ["change", changeBody(seq) as unknown as Json];
  // Each change is deployed by the next record; the first, with no change before it, by the reconciler.
  else if (c < 38) [kind, body] = ["provisioning", provisioningBody(seq === 1 ? null : previous)];
  else if (c === 38) [kind, body] = ["change", { ...changeBody(seq), decision: "pending", approvals: [], emergency: { active: true, reason: "incident" } } as unknown as Json];
  else if (c < 46) [kind, body] = ["change", changeBody(seq) as unknown as Json];
  else if (c === 46 && seq % ACCESS_REVIEW_EVERY === ACCESS_REVIEW_EVERY / 2 + 46) [kind, body] = ["access-review", accessReviewBody(seq)];
  else if (c < 48) [kind, body] = ["drift", { repository: { ...REPOSITORY }, commit: sha40(seq), findings: [{ provider: "postgres", instance: "crm-prod", agent: "support-triage", kind: "extra-grant", detail: "SELECT on crm.public.customers" }], issues: [seq] }];
  else if (c === 48) {
    [kind, body] = ["exception", { kind: "direct-push", repository: { ...REPOSITORY }, commits: [sha40(seq)], pullRequest: null, reason: "pushed straight to main", agents: ["support-triage"], issue: seq }];
  } else {
    const approvals = [{ reviewer: "sam-lead", via: "owner", commitId: null, submittedAt: observedAt(seq) }];
    [kind, body] = ["retro-approval", { repository: { ...REPOSITORY }, emergency: emergency ?? previous, issue: seq, approvals, outcome: "completed" }];
  }
  const record = { schema: RECORD_SCHEMA, seq, kind, prev: tip.lastHash, observedAt: observedAt(seq), body };
  return sorted(record) as { kind: string; observedAt: string } & Record<string, Json>;
}

function accessReviewBody(seq: number): Json {
  const agents = Array.from({ length: REVIEWED_AGENTS }, (_, i) => ({
    agent: `agent-${String(i).padStart(4, "0")}`,
    status: "active",
    owners: ["@acme/team"],
    permissions: [],
    dataClassifications: [],
    provider: "postgres",
    lastChange: null,
    lastProvisioning: null,
    drift: false,
  }));
  return { repository: { ...REPOSITORY }, commit: sha40(seq), asOf: observedAt(seq), agents };
}

const sha40 = (n: number): string => n.toString(16).padStart(40, "0");

function provisioningBody(after: { seq: number; sha256: string } | null): Json {
  return {
    repository: { ...REPOSITORY },
    source: after === null ? "reconciler" : "change",
    after,
    commit: "a".repeat(40),
    agents: ["support-triage"],
    plan: [],
    applied: [],
    verification: { remaining: [], escalations: [] },
    outcome: "converged",
  };
}

function sorted(value: Json): Json {
  if (Array.isArray(value)) return value.map(sorted);
  if (value === null || typeof value !== "object") return value;
  const out: { [key: string]: Json } = {};
  for (const key of Object.keys(value).sort()) out[key] = sorted(value[key] ?? null);
  return out;
}
