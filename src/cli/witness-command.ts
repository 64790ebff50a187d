import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { gitLedgerSource } from "../audit/git-ledger-source.js";
import { CharterError, isCharterError } from "../errors.js";
import { cosignCheckpoint, cosignerVerifierKey, generateCosignerKey } from "../evidence/cosignature.js";
import { CHECKPOINT_PATH } from "../evidence/ledger.js";
import { type Hash, leafHash } from "../evidence/merkle.js";
import { advanceWitness, formatWitnessState, parseWitnessState, planWitness, type Refusal, type WitnessedLog } from "../evidence/witness.js";
import { resolveCommit } from "../git/commit-reader.js";
import { isRemoteSpec } from "../git/remote-clone.js";
import { gitOutput, runGit } from "../git/run-git.js";
import { createWitnessTag, pushWitnessTag, witnessTagName } from "../git/witness-tags.js";
import { chooseFormat } from "./choose-format.js";
import { parseOptions } from "./parse-options.js";
import { EXIT, type CliIo } from "./io.js";
import { DEFAULT_EVIDENCE_BRANCH } from "./verify-command.js";

const WITNESS_HELP = `Usage: charter witness --repo URL|DIR --state DIR --key-file FILE [--log-key KEY] [--branch NAME] [--format text|json]
       charter witness keygen NAME --key-file FILE

Run by a party independent of the log's operator (the audit firm, a second team): fetches the
evidence branch, checks that its checkpoint is signed by the log's key and that the log is an
extension of the tree this witness cosigned last (an RFC 6962 consistency proof from the compact
range it kept and the records added since), then cosigns the checkpoint (C2SP tlog-cosignature,
Ed25519) and publishes the cosignature as the tag charter-witness/<witness>/<size> in the same
repository, pointing at the cosigned commit: a clone of the evidence branch brings it along, and
charter verify --witness KEY requires it. A truncated, forked or rewritten log is refused and
nothing is signed.

  --repo URL|DIR   the repository to witness (fetched into the state directory's mirror each run)
  --state DIR      the witness's own directory: what it cosigned last, and its mirror. Keep it,
                   and back it up: a witness that forgets what it cosigned can be fooled once.
  --key-file FILE  the witness's signer key (from charter witness keygen)
  --log-key KEY    the log's verifier key, from its operator; needed on the first run, then
                   remembered (a different key later is refused)
  --branch NAME    the evidence branch (default: ${DEFAULT_EVIDENCE_BRANCH})
  --format         text (default) or json

keygen writes a new witness key named NAME (a schema-less URL such as audit.example/witness) to
FILE, readable by you only, and prints the verifier key to publish.

Exit status: 0 cosigned (or nothing new since the last run), 1 refused (the log misbehaved),
2 usage or internal error.
`;

const FORMATS = ["text", "json"] as const;

export async function witnessCommand(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv[0] === "keygen") return keygen(argv.slice(1), io);
  const { values } = parseOptions({
    args: [...argv],
    allowPositionals: false,
    strict: true,
    options: {
      repo: { type: "string" },
      state: { type: "string" },
      "key-file": { type: "string" },
      "log-key": { type: "string" },
      branch: { type: "string", default: DEFAULT_EVIDENCE_BRANCH },
      format: { type: "string", default: "text" },
      help: { type: "boolean", short: "h" },
    },
  }, WITNESS_HELP);
  if (values.help) {
    io.out(WITNESS_HELP);
    return EXIT.ok;
  }
  const format = chooseFormat(values.format, FORMATS);
  if (values.repo === undefined || values.state === undefined || values["key-file"] === undefined) {
    throw new CharterError("USAGE", "charter witness needs --repo, --state and --key-file", { hint: "Run charter witness --help." });
  }
  const repo = isRemoteSpec(values.repo) ? values.repo : resolve(io.cwd, values.repo);
  const stateDir = resolve(io.cwd, values.state);
  const signerKey = await readKeyFile(resolve(io.cwd, values["key-file"]));
  const witnessKey = cosignerVerifierKey(signerKey);
  await mkdir(stateDir, { recursive: true });
  const statePath = join(stateDir, "state.json");
  const state = existsSync(statePath) ? parseWitnessState(await readFile(statePath, "utf8"), statePath) : null;

  const mirror = await fetchMirror(stateDir, repo, values.branch);
  const commit = await resolveCommit(mirror, values.branch);
  const note = (await gitOutput(mirror, ["cat-file", "blob", `${commit}:${CHECKPOINT_PATH}`]).catch(() => Buffer.alloc(0))).toString("utf8");
  const plan = planWitness(state, note, values["log-key"]);
  if (plan.kind === "refuse") return refused(plan, io, format);

  let log: WitnessedLog;
  if (plan.kind === "read") {
    const leaves = await readLeaves(mirror, commit, plan.from, plan.to);
    if ("kind" in leaves) return refused(leaves, io, format);
    const tree = advanceWitness(state, plan.checkpoint, leaves);
    if (tree.kind === "refuse") return refused(tree, io, format);
    // Never earlier than the last cosignature: a witness's statements must not go back in time.
    const timestamp = Math.max(Math.floor(Date.now() / 1000), state?.cosignedAt ?? 0);
    log = { origin: tree.origin, size: tree.size, root: tree.root, frontier: tree.frontier, logKey: plan.logKey, cosignedAt: timestamp, note: cosignCheckpoint(note, signerKey, timestamp) };
    // The state is written before anything is published, so a crash can never leave a cosignature
    // out there that this witness does not remember.
    await writeAtomically(statePath, formatWitnessState(log));
  } else if (state !== null) {
    log = state;
  } else {
    throw new CharterError("INTERNAL", "a witness with no state found nothing to read");
  }

  const tag = witnessTagName(witnessKey, log.size);
  await createWitnessTag(mirror, tag, plan.kind === "read" ? commit : await taggedCommit(mirror, tag, commit), log.note, stateDir);
  await pushWitnessTag(mirror, repo, tag);
  const fresh = plan.kind === "read";
  if (format === "json") {
    io.out(JSON.stringify({ cosigned: fresh, origin: log.origin, size: log.size, root: Buffer.from(log.root).toString("base64"), timestamp: log.cosignedAt, tag, note: log.note }, null, 2) + "\n");
  } else {
    io.out(
      `${fresh ? "cosigned" : "nothing new since the last cosignature of"} ${log.origin} at ${log.size} record${log.size === 1 ? "" : "s"}; published as ${tag.replace(/^refs\/tags\//, "tag ")}\n\n${log.note}`,
    );
  }
  return EXIT.ok;
}

async function keygen(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions({ args: [...argv], allowPositionals: true, strict: true, options: { "key-file": { type: "string" } } }, WITNESS_HELP);
  const name = positionals[0];
  if (name === undefined || positionals.length > 1 || values["key-file"] === undefined) {
    throw new CharterError("USAGE", "charter witness keygen needs a NAME and --key-file FILE", { hint: "e.g. charter witness keygen audit.example/witness --key-file witness.key" });
  }
  const file = resolve(io.cwd, values["key-file"]);
  if (existsSync(file)) throw new CharterError("CONFLICT", `${values["key-file"]} exists; keygen never overwrites a key`, { hint: "Choose another file, or remove the old key if you mean to." });
  const { signerKey, verifierKey } = generateCosignerKey(name);
  await writeFile(file, `${signerKey}\n`, { mode: 0o600, flag: "wx" });
  io.out(`wrote the witness signer key to ${values["key-file"]}; publish its verifier key:\n${verifierKey}\n`);
  return EXIT.ok;
}

async function readKeyFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new CharterError("NOT_FOUND", `${path}: no such key file`, { hint: "Create one with charter witness keygen NAME --key-file FILE." });
  }
  return text.trim();
}

/** The state directory's bare mirror, with the evidence branch as the repository serves it now (rewrites included). */
async function fetchMirror(stateDir: string, repo: string, branch: string): Promise<string> {
  const mirror = join(stateDir, "mirror.git");
  if (!existsSync(mirror)) await gitOutput(stateDir, ["init", "--quiet", "--bare", mirror]);
  const result = await runGit(mirror, ["fetch", "--quiet", "--no-tags", "--force", "--", repo, `+refs/heads/${branch}:refs/heads/${branch}`]);
  if (result.code !== 0) {
    throw new CharterError("NOT_FOUND", `could not fetch ${branch} from ${repo}: ${result.stderr.trim().split("\n").at(-1) ?? "git failed"}`, {
      hint: "Check the address, your read access, and the branch name (--branch).",
    });
  }
  return mirror;
}

/** Leaf hashes of records from..to-1, or a refusal when the branch lacks one its checkpoint covers. */
async function readLeaves(mirror: string, commit: string, from: number, to: number): Promise<Hash[] | Refusal> {
  const source = await gitLedgerSource(mirror, commit);
  try {
    const leaves: Hash[] = [];
    for (let seq = from; seq < to; seq += 1000) {
      for (const bytes of await source.read(seq, Math.min(1000, to - seq))) leaves.push(leafHash(bytes));
    }
    return leaves;
  } catch (error) {
    if (isCharterError(error) && error.code === "INVALID_RECORD") {
      return { kind: "refuse", code: "inconsistent", message: `the branch does not hold every record its checkpoint covers: ${error.message.replace(/^charter: /, "")}` };
    }
    throw error;
  } finally {
    await source.close();
  }
}

/** The commit an existing tag points at (for publishing again), or the branch head when the tag is gone. */
async function taggedCommit(mirror: string, tag: string, fallback: string): Promise<string> {
  const result = await runGit(mirror, ["rev-parse", "--verify", "--quiet", `${tag}^{commit}`]);
  return result.code === 0 ? result.stdout.toString("utf8").trim() : fallback;
}

function refused(refusal: Refusal, io: CliIo, format: (typeof FORMATS)[number]): number {
  if (format === "json") io.out(JSON.stringify({ cosigned: false, refused: refusal.code, message: refusal.message }, null, 2) + "\n");
  else io.out(`refused to cosign (${refusal.code}): ${refusal.message}\n`);
  return EXIT.findings;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp`;
  await writeFile(temporary, text, { mode: 0o600 });
  await rename(temporary, path);
}
