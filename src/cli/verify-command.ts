import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { CharterError, isCharterError } from "../errors.js";
import { checkCompleteness, type Coverage } from "../evidence/completeness.js";
import { cosignatureVerifier } from "../evidence/cosignature.js";
import { CHECKPOINT_PATH, PUBLIC_KEY_PATH } from "../evidence/ledger.js";
import { parseVerifierKey } from "../evidence/signed-note.js";
import { type Anchor, chooseAnchor, type PinChange, trustProblems, unapprovedPinChanges } from "../evidence/trust-anchor.js";
import { parseTrustFile, type RememberedLog, rememberLog } from "../evidence/trust-file.js";
import { LedgerVerifier, type VerifyReport, type WitnessSighting } from "../evidence/verify.js";
import { readBranchFiles } from "../git/branch-files.js";
import { resolveCommit } from "../git/commit-reader.js";
import { commitsChanging, defaultBranch, fileAt, firstParent, governedHistory } from "../git/governed-history.js";
import { isRemoteSpec, withRemoteClone } from "../git/remote-clone.js";
import { streamTreeFileBatches } from "../git/tree-stream.js";
import { readWitnessNotes } from "../git/witness-tags.js";
import { POLICY_PATH } from "../change/governed-paths.js";
import { parsePolicy } from "../policy/load-policy.js";
import { chooseFormat } from "./choose-format.js";
import { EXIT, type CliIo } from "./io.js";
import { readTrustFile, trustFilePath, writeTrustFile } from "./trust-file-store.js";
import { parseOptions } from "./parse-options.js";
import { gitRepository } from "./repository-option.js";

const VERIFY_FORMATS = ["text", "json"] as const;
export const DEFAULT_EVIDENCE_BRANCH = "charter-evidence";

const VERIFY_HELP = `Usage: charter verify [--repo DIR|URL] [--branch NAME] [--key KEY]... [--trust-on-first-use] [--trust-file FILE]
                      [--trusted-checkpoint FILE] [--save-checkpoint FILE] [--witness KEY]... [--min-witnesses N] [--default-branch REF] [--format text|json]

Verifies the evidence ledger on a clone, offline: every record is canonical JSON and matches
its schema, no record is missing, duplicated, edited, reordered or backdated (each holds the
previous record's hash), the Merkle root of all records matches the branch's checkpoint, the
checkpoint is signed by a key you trust, the log still contains every tree you hold (your trust
file's, a checkpoint you saved, each witness's cosigned one), and it is complete: every commit on
the default branch that changed agents or governance files since the first recorded merge is a
recorded pull request's merge or part of a recorded exception.

The key the checkpoint must be signed by, strongest first: --key; the key pinned in
.github/charter.yml on the default branch (evidence.verifierKey, whose every change must be an
approved, recorded pull request); the key your trust file remembers for this log. The key
published on the branch itself proves nothing about who signed: alone it gives "internally
consistent only" (exit 3), unless you pass --trust-on-first-use to accept it. A verified key and
the tree are remembered in the trust file; a later checkpoint signed by another key fails.

  --repo DIR|URL            a clone of the repository (default: the nearest directory holding .git),
                            or its address (https://…, ssh://…, git@host:…, file://…), cloned
                            bare into a temporary directory for the check and removed afterwards
  --branch NAME             the evidence branch (default: ${DEFAULT_EVIDENCE_BRANCH}, or origin/${DEFAULT_EVIDENCE_BRANCH})
  --key KEY                 a verifier key you trust, as published in the operator's documentation
                            (repeatable)
  --trust-on-first-use      with no key given, pinned or remembered: accept the key published on
                            the branch and remember it
  --trust-file FILE         where keys and trees are remembered (default: $CHARTER_TRUST_FILE, else
                            $XDG_CONFIG_HOME/charter/known-logs, else ~/.config/charter/known-logs)
  --trusted-checkpoint FILE a checkpoint you saved from an earlier verification
  --save-checkpoint FILE    once verified, save the checkpoint to FILE (for --trusted-checkpoint next
                            time; it may be the same file); nothing is saved unless verified
  --witness KEY             a witness's verifier key (C2SP tlog-cosignature, type 0x04); its
                            cosignatures are read from the tags charter-witness/* (repeatable)
  --min-witnesses N         how many of the --witness keys must have cosigned a tree this log
                            contains (default: all of them)
  --default-branch REF      the branch whose history must be complete and whose policy may pin the
                            key (default: origin/HEAD, main or master)
  --format                  text (default) or json: { ok, status, trust, branch, commit, size, root,
                            origin, witnesses[], problems[] }

Exit status: 0 verified against a key you trust, 1 not verified (the first problem names the
record and why), 2 usage or internal error, 3 internally consistent only (no key you trust).
`;

export async function verifyCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOptions({
    args: [...argv],
    allowPositionals: false,
    strict: true,
    options: {
      repo: { type: "string" },
      branch: { type: "string" },
      key: { type: "string", multiple: true },
      "trust-on-first-use": { type: "boolean", default: false },
      "trust-file": { type: "string" },
      "trusted-checkpoint": { type: "string" },
      "save-checkpoint": { type: "string" },
      witness: { type: "string", multiple: true },
      "min-witnesses": { type: "string" },
      "default-branch": { type: "string" },
      format: { type: "string", default: "text" },
      help: { type: "boolean", short: "h" },
    },
  }, VERIFY_HELP);
  if (values.help) {
    io.out(VERIFY_HELP);
    return EXIT.ok;
  }
  const format = chooseFormat(values.format, VERIFY_FORMATS);
  const options = checkOptions(values, io.cwd);
  if (values.repo !== undefined && isRemoteSpec(values.repo)) return withRemoteClone(values.repo, (root) => verifyAt(root, options, format, io));
  return verifyAt(await gitRepository(io.cwd, values.repo, "--repo"), options, format, io);
}

interface Options {
  readonly branch: string | undefined;
  readonly keys: readonly string[];
  readonly trustOnFirstUse: boolean;
  readonly trustFile: string;
  readonly trustedCheckpoint: string | undefined;
  /** Where a verified checkpoint is saved, resolved against the working directory. */
  readonly saveCheckpoint: string | undefined;
  readonly witnesses: readonly string[];
  readonly minWitnesses: number;
  readonly defaultBranch: string | undefined;
}

/** Every option is checked before any git work, so a typo is a usage error, not a finding. */
function checkOptions(
  values: {
    branch?: string | undefined;
    key?: string[] | undefined;
    "trust-on-first-use"?: boolean | undefined;
    "trust-file"?: string | undefined;
    "trusted-checkpoint"?: string | undefined;
    "save-checkpoint"?: string | undefined;
    witness?: string[] | undefined;
    "min-witnesses"?: string | undefined;
    "default-branch"?: string | undefined;
  },
  cwd: string,
): Options {
  const keys = values.key ?? [];
  for (const key of keys) usable(() => parseVerifierKey(key), `--key ${key}`, "Pass the verifier key exactly as the operator published it: <name>+<key id>+<base64 key>.");
  const witnesses = values.witness ?? [];
  for (const key of witnesses) {
    usable(() => cosignatureVerifier(key), `--witness ${key}`, "Pass the witness's verifier key as it published it (type 0x04, from charter witness keygen).");
  }
  const min = values["min-witnesses"] === undefined ? witnesses.length : Number(values["min-witnesses"]);
  if (!Number.isSafeInteger(min) || min < 0 || min > witnesses.length || (values["min-witnesses"] !== undefined && !/^\d+$/.test(values["min-witnesses"]))) {
    throw new CharterError("USAGE", `--min-witnesses ${values["min-witnesses"] ?? ""} is not a count between 0 and the ${witnesses.length} --witness key${witnesses.length === 1 ? "" : "s"} given`, {
      hint: "Give one --witness KEY per witness you trust, and at most that many for --min-witnesses.",
    });
  }
  let trustedCheckpoint: string | undefined;
  if (values["trusted-checkpoint"] !== undefined) {
    try {
      trustedCheckpoint = readFileSync(resolve(cwd, values["trusted-checkpoint"]), "utf8");
    } catch {
      throw new CharterError("NOT_FOUND", `${values["trusted-checkpoint"]}: no such file`, { hint: "Pass a checkpoint saved from an earlier charter verify." });
    }
  }
  return {
    branch: values.branch,
    keys,
    trustOnFirstUse: values["trust-on-first-use"] === true,
    trustFile: trustFilePath(values["trust-file"], cwd),
    trustedCheckpoint,
    saveCheckpoint: values["save-checkpoint"] === undefined ? undefined : resolve(cwd, values["save-checkpoint"]),
    witnesses,
    minWitnesses: min,
    defaultBranch: values["default-branch"],
  };
}

function usable(check: () => unknown, what: string, hint: string): void {
  try {
    check();
  } catch (error) {
    if (!isCharterError(error)) throw error;
    throw new CharterError("USAGE", `${what}: ${error.message.replace(/^charter: /, "")}`, { hint });
  }
}

interface Problem {
  readonly seq?: number;
  readonly path?: string;
  readonly code: string;
  readonly message: string;
}

type Status = "verified" | "consistent-only" | "not-verified";

async function verifyAt(root: string, options: Options, format: (typeof VERIFY_FORMATS)[number], io: CliIo): Promise<number> {
  const { branch, commit } = await findEvidenceBranch(root, options.branch);
  const small = await readBranchFiles(root, commit, [CHECKPOINT_PATH, PUBLIC_KEY_PATH]);
  const text = (path: string): string | undefined => {
    const file = small.files.find((f) => f.path === path);
    return file ? new TextDecoder().decode(file.bytes) : undefined;
  };
  const checkpoint = text(CHECKPOINT_PATH) ?? "";
  const published = text(PUBLIC_KEY_PATH)?.trim() || null;
  const defaultRef = options.defaultBranch ?? (await defaultBranch(root));
  const pin = defaultRef === null ? { key: null, problems: [] } : await pinnedKey(root, defaultRef);

  const trustText = await readTrustFile(options.trustFile);
  const trusted = parseTrustFile(trustText, options.trustFile);
  // The checkpoint's first line names the log; it is only a lookup key here, and is believed once signed.
  const claimedOrigin = checkpoint.split("\n", 1)[0] ?? "";
  const remembered: RememberedLog = trusted.get(claimedOrigin) ?? {};
  const anchor = chooseAnchor({
    given: options.keys,
    pinned: pin.key,
    remembered: remembered.key ?? null,
    published,
    trustOnFirstUse: options.trustOnFirstUse,
  });

  const verifier = new LedgerVerifier({
    checkpoint,
    verifierKeys: anchor.keys,
    ...(options.trustedCheckpoint === undefined ? {} : { trustedCheckpoint: options.trustedCheckpoint }),
    trustedTrees: remembered.tree
      ? [{ origin: claimedOrigin, size: remembered.tree.size, root: remembered.tree.root, source: `the tree your trust file remembers (${options.trustFile}:${remembered.tree.line})` }]
      : [],
    ...(options.witnesses.length === 0 ? {} : { witnesses: { keys: options.witnesses, min: options.minWitnesses, notes: await readWitnessNotes(root) } }),
  });
  // The records stream through the verifier in log order, each read, parsed and checked once.
  const unexpectedPaths = [...small.unexpected];
  for await (const items of streamTreeFileBatches(root, commit, ["records/"])) {
    for (const item of items) {
      if (item.kind === "file") verifier.add(item.path, item.bytes);
      else unexpectedPaths.push(item.path);
    }
  }
  const report = verifier.finish();
  const unexpected = unexpectedPaths.map((path) => ({ path, code: "path-invalid" as const, message: `${path} is not a regular file (a link or submodule cannot be evidence)` }));
  const completeness = await checkHistory(root, defaultRef, report.coverage);
  const trust = trustProblems({ anchor: anchor.anchor, origin: claimedOrigin, signedBy: report.signedBy, published, pinned: pin.key, remembered: remembered.key ?? null, trustFile: options.trustFile });
  const problems: Problem[] = [...report.problems, ...unexpected, ...completeness.problems, ...pin.problems, ...completeness.pinProblems, ...trust];
  const status: Status = problems.length > 0 ? "not-verified" : anchor.anchor === "none" ? "consistent-only" : "verified";

  const signer = report.signedBy[0] ?? null;
  if (status === "verified" && report.origin !== null && signer !== null) {
    const next = rememberLog(trustText, report.origin, { key: { key: signer, since: new Date().toISOString() }, tree: { size: report.size, root: Buffer.from(report.root, "hex") } });
    if (next !== trustText) await writeTrustFile(options.trustFile, next);
    if (options.saveCheckpoint !== undefined) saveCheckpoint(options.saveCheckpoint, checkpoint);
  }
  io.out(
    render(
      { ...report, problems },
      { status, anchor: anchor.anchor, signer: signer ?? anchor.keys[0] ?? "", branch, defaultRef, commit, checkpoint: text(CHECKPOINT_PATH), completeness: completeness.summary, trustFile: options.trustFile, rememberedSince: remembered.key?.since ?? null, witnesses: { required: options.minWitnesses, of: options.witnesses.length } },
      format,
    ),
  );
  return status === "verified" ? EXIT.ok : status === "consistent-only" ? EXIT.unanchored : EXIT.findings;
}

/**
 * Writes the verified checkpoint beside its final name, then renames it over: a crash leaves the
 * previous checkpoint whole, never half of one that the next visit would reject.
 */
function saveCheckpoint(path: string, checkpoint: string): void {
  const partial = `${path}.partial`;
  try {
    writeFileSync(partial, checkpoint);
    renameSync(partial, path);
  } catch (error) {
    throw new CharterError("IO", `${path}: the verified checkpoint could not be saved (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: "Pass --save-checkpoint a file in a directory that exists and that you can write.",
    });
  }
}

/**
 * The key pinned in the policy at the default branch's head. A policy that cannot be read hides
 * the pin, which is a finding rather than a silent fallback to weaker anchors.
 */
async function pinnedKey(root: string, ref: string): Promise<{ key: string | null; problems: Problem[] }> {
  const bytes = await fileAt(root, ref, POLICY_PATH);
  if (bytes === null) return { key: null, problems: [] };
  const pin = pinIn(bytes);
  if (pin.ok) return { key: pin.key, problems: [] };
  return { key: null, problems: [{ code: "pinned-key-unreadable", message: `${POLICY_PATH} on ${ref} cannot be read, so a key pinned in it cannot be checked: ${pin.reason}` }] };
}

function pinIn(bytes: Uint8Array): { ok: true; key: string | null } | { ok: false; reason: string } {
  const load = parsePolicy(bytes);
  if (!load.ok) return { ok: false, reason: load.diagnostics.map((d) => d.message).slice(0, 2).join("; ") };
  const key = load.policy.evidence?.verifierKey ?? null;
  if (key === null) return { ok: true, key };
  try {
    parseVerifierKey(key);
  } catch (error) {
    if (!isCharterError(error)) throw error;
    return { ok: false, reason: `evidence.verifierKey: ${error.message.replace(/^charter: /, "")}` };
  }
  return { ok: true, key };
}

/** Reconciles the default branch's history with the records (see checkCompleteness), and the pinned key's changes with them. */
async function checkHistory(root: string, branch: string | null, coverage: Coverage): Promise<{ problems: Problem[]; pinProblems: Problem[]; summary: string }> {
  if (branch === null) {
    return { problems: [{ code: "completeness-unchecked", message: "no default branch found to reconcile the records with; pass --default-branch" }], pinProblems: [], summary: "" };
  }
  const first = coverage.first;
  if (first === null) return { problems: [], pinProblems: [], summary: `complete: no change recorded yet, nothing on ${branch} to reconcile` };
  const since = await firstParent(root, first);
  const history = since === null ? [] : await governedHistory(root, branch, since);
  const result = checkCompleteness(coverage, history, since);
  const problems = result.uncovered.map((c) => ({
    code: "incomplete",
    message: `commit ${c.sha.slice(0, 12)} on ${branch} changed ${c.paths.slice(0, 3).join(", ")}${c.paths.length > 3 ? "…" : ""} but no change or exception record covers it`,
  }));
  const pinProblems = since === null ? [] : unapprovedPinChanges(await pinChanges(root, branch, since), coverage);
  return { problems, pinProblems, summary: `complete: ${result.checked} governed commit${result.checked === 1 ? "" : "s"} on ${branch} since ${since?.slice(0, 12) ?? "the start"}, each recorded` };
}

/** Commits on the default branch since the ledger began that changed the pinned key. */
async function pinChanges(root: string, branch: string, since: string): Promise<PinChange[]> {
  const changes: PinChange[] = [];
  const pinAt = async (commit: string | null): Promise<string | null> => {
    const bytes = commit === null ? null : await fileAt(root, commit, POLICY_PATH);
    const pin = bytes === null ? null : pinIn(bytes);
    return pin?.ok ? pin.key : null;
  };
  for (const sha of await commitsChanging(root, branch, since, POLICY_PATH)) {
    const [before, after] = [await pinAt(await firstParent(root, sha)), await pinAt(sha)];
    if (before !== after) changes.push({ sha, before, after });
  }
  return changes;
}

/** The evidence branch: as named, or its remote-tracking copy in a fresh clone. */
async function findEvidenceBranch(root: string, name: string | undefined): Promise<{ branch: string; commit: string }> {
  const candidates = name === undefined ? [DEFAULT_EVIDENCE_BRANCH, `origin/${DEFAULT_EVIDENCE_BRANCH}`] : name.includes("/") ? [name] : [name, `origin/${name}`];
  let last: unknown;
  for (const branch of candidates) {
    try {
      return { branch, commit: await resolveCommit(root, branch) };
    } catch (error) {
      if (!isCharterError(error) || error.code !== "NOT_FOUND") throw error;
      last = error;
    }
  }
  throw new CharterError("NOT_FOUND", `no evidence branch ${candidates.join(" or ")} in ${root}`, {
    hint: `Fetch it first (git fetch origin ${DEFAULT_EVIDENCE_BRANCH}), or name it with --branch.`,
    cause: last,
  });
}

interface RenderContext {
  readonly status: Status;
  readonly anchor: Anchor;
  readonly signer: string;
  readonly branch: string;
  readonly defaultRef: string | null;
  readonly commit: string;
  readonly checkpoint: string | undefined;
  readonly completeness: string;
  readonly trustFile: string;
  readonly rememberedSince: string | null;
  readonly witnesses: { readonly required: number; readonly of: number };
}

const ANCHOR_TEXT: Readonly<Record<Anchor, (c: RenderContext) => string>> = {
  given: () => "the key you gave (--key)",
  pinned: (c) => `the key pinned in ${POLICY_PATH} on ${c.defaultRef ?? "the default branch"} (evidence.verifierKey)`,
  remembered: (c) => `the key your trust file remembers${c.rememberedSince ? ` since ${c.rememberedSince}` : ""} (${c.trustFile})`,
  "first-use": (c) => `the key published on the branch, trusted on first use as you asked and remembered in ${c.trustFile}: this run proves integrity, not who signed; later runs fail if the key changes`,
  none: () => "the key published on the branch itself",
};

function render(report: Omit<VerifyReport, "problems"> & { problems: readonly Problem[] }, c: RenderContext, format: (typeof VERIFY_FORMATS)[number]): string {
  if (format === "json") {
    return (
      JSON.stringify(
        {
          ok: c.status === "verified",
          status: c.status,
          trust: { anchor: c.anchor, key: c.signer, trustFile: c.trustFile },
          branch: c.branch,
          commit: c.commit,
          size: report.size,
          root: report.root,
          origin: report.origin,
          witnesses: report.witnessed,
          problems: report.problems,
        },
        null,
        2,
      ) + "\n"
    );
  }
  const records = `${report.size} record${report.size === 1 ? "" : "s"} on ${c.branch} (${c.commit.slice(0, 12)}), Merkle root ${report.root}`;
  if (c.status === "not-verified") {
    let out = `NOT verified: ${report.problems.length} problem${report.problems.length === 1 ? "" : "s"} on ${c.branch} (${c.commit.slice(0, 12)})\n`;
    for (const p of report.problems) out += `${p.path ?? (p.seq === undefined ? "checkpoint" : `record ${p.seq}`)}  ${p.code}  ${p.message}\n`;
    return out;
  }
  if (c.status === "consistent-only") {
    return [
      `consistent, NOT verified: ${records}`,
      `The records are internally consistent and signed by the key published on the branch itself (${c.signer}), which whoever can rewrite the branch can replace: nothing you trust vouches for it.`,
      `Pass --key with the key from the operator's documentation, ask the operator to pin it (evidence.verifierKey in ${POLICY_PATH}), or pass --trust-on-first-use to accept this key and have later runs fail if it changes.`,
      "",
    ].join("\n");
  }
  let out = `verified: ${records}\nsigned by ${c.signer}: ${ANCHOR_TEXT[c.anchor](c)}\n`;
  if (c.witnesses.of > 0) out += witnessLine(report.witnessed, c.witnesses);
  if (c.completeness) out += `${c.completeness}\n`;
  out += `remembered in ${c.trustFile}: a later run fails if this log's key changes or the tree of these ${report.size} records is rewritten\n`;
  if (c.checkpoint) out += "\nTo check from elsewhere, save this checkpoint and pass it with --trusted-checkpoint:\n\n" + c.checkpoint;
  return out;
}

function witnessLine(witnessed: readonly WitnessSighting[], required: { required: number; of: number }): string {
  const each = witnessed.map((w) => `${w.key.split("+")[0] ?? ""} up to ${w.size} records (${new Date(w.timestamp * 1000).toISOString()})`).join(", ");
  return `witnessed by ${witnessed.length} of ${required.of} witness${required.of === 1 ? "" : "es"} you trust (${required.required} required)${each ? `: ${each}` : ""}\n`;
}
