import { spawnGroup } from "./child-processes.js";
import { execFileSync } from "node:child_process";
import { canonicalBytes } from "../../src/evidence/canonical-json.js";
import { CHECKPOINT_PATH, checkpointFor, EMPTY_LEDGER, type LedgerTip, PUBLIC_KEY_PATH, recordPath } from "../../src/evidence/ledger.js";
import { appendLeaf, frontierRoot, leafHash } from "../../src/evidence/merkle.js";
import { RECORD_SCHEMA, recordHash } from "../../src/evidence/record.js";
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
 * Writes a ledger of `size` records (a genesis record, then change records with a provisioning
 * record after every tenth) as the charter-evidence branch of a new repository at `dir`, through
 * one `git fast-import` stream: a million records take a minute, not the hours the app's own
 * append path would. Each record's bytes are JSON.stringify over keys inserted in sorted order,
 * which is RFC 8785's form for these records; the first records of each kind are checked against
 * canonicalBytes so the shortcut cannot drift from the real format.
 */
export async function writeLargeLedger(dir: string, size: number, keys = generateSignerKey(ORIGIN)): Promise<LargeLedger> {
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
  for (let seq = 0; seq < size; seq++) {
    const record = recordAt(seq, tip, keys.verifierKey);
    const encoded = new TextEncoder().encode(JSON.stringify(record) + "\n");
    if (!checked.has(record.kind)) {
      if (Buffer.compare(Buffer.from(encoded), Buffer.from(canonicalBytes(record))) !== 0) throw new Error(`large ledger: the ${record.kind} record is not canonical`);
      checked.add(record.kind);
    }
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
        ? provisioningBody(seq - 1, tip.lastHash ?? "")
        : changeBody(seq);
  const record = { schema: RECORD_SCHEMA, seq, kind, prev: tip.lastHash, observedAt: observedAt(seq), body };
  return sorted(record as unknown as Json) as { kind: string; observedAt: string } & Record<string, Json>;
}

function provisioningBody(after: number, sha256: string): Json {
  return {
    repository: { ...REPOSITORY },
    source: "change",
    after: { seq: after, sha256 },
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
