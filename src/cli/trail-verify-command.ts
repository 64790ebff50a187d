import { parseOptions } from "./parse-options.js";
import { CharterError } from "../errors.js";
import { PUBLIC_KEY_PATH } from "../evidence/ledger.js";
import { verifyInclusion } from "../evidence/merkle.js";
import { runGit } from "../git/run-git.js";
import { sealPending } from "../sources/trail-sealer.js";
import { deepCheck } from "../sources/trail-deep-check.js";
import { eventFromBytes, GENESIS_HASH } from "../trail/event-bytes.js";
import { inclusionProofFor } from "../trail/segments.js";
import { type TrailVerifyReport } from "../trail/verify-trail.js";
import { EXIT, type CliIo } from "./io.js";
import { COMMON_OPTIONS, repositoryRoot, TRAIL_HELP, withStore } from "./trail-command.js";
import { DEFAULT_EVIDENCE_BRANCH } from "./verify-command.js";
import { verifyStoredTrail } from "./stored-trail-verification.js";

export async function trailSealCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOptions({ args: [...argv], strict: true, options: { ...COMMON_OPTIONS } }, TRAIL_HELP);
  const key = process.env["CHARTER_SIGNING_KEY"]?.trim();
  if (!key) throw new CharterError("MISSING_SECRET", "CHARTER_SIGNING_KEY is not set", { hint: "Seal with the evidence ledger's signer key (the app's CHARTER_SIGNING_KEY)." });
  return withStore(io, values.db, async (store) => {
    const sealed = await sealPending(store, key);
    io.out(sealed.length === 0 ? "nothing to seal: every event is in a segment\n" : sealed.map((s) => `sealed segment ${s.index}: events ${s.fromSeq}–${s.toSeq}, root ${s.root}\n`).join(""));
    return EXIT.ok;
  });
}

/** The evidence branch of a clone: as named, or the remote-tracking copy of a fresh clone. */
async function evidenceRef(root: string, name: string | undefined): Promise<string> {
  for (const ref of name === undefined ? [DEFAULT_EVIDENCE_BRANCH, `origin/${DEFAULT_EVIDENCE_BRANCH}`] : [name, `origin/${name}`]) {
    if ((await runGit(root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])).code === 0) return ref;
  }
  throw new CharterError("NOT_FOUND", `no evidence branch ${name ?? DEFAULT_EVIDENCE_BRANCH} in ${root}`, { hint: "Fetch it (git fetch origin charter-evidence) or name it with --branch." });
}

export async function trailVerifyCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOptions({ args: [...argv], strict: true, options: { ...COMMON_OPTIONS, branch: { type: "string" }, key: { type: "string", multiple: true }, deep: { type: "boolean" }, format: { type: "string", default: "text" } } }, TRAIL_HELP);
  const root = repositoryRoot(io, values.repo);
  if (root === null) throw new CharterError("USAGE", "charter trail verify needs a clone with the evidence branch", { hint: "Run it inside the clone, or pass --repo DIR." });
  const ref = await evidenceRef(root, values.branch);
  let keys = values.key ?? [];
  let keySource = "given";
  if (keys.length === 0) {
    const published = await runGit(root, ["show", `${ref}:${PUBLIC_KEY_PATH}`]);
    if (published.code !== 0) throw new CharterError("USAGE", `${ref} has no ${PUBLIC_KEY_PATH} and no --key was given`, { hint: "Pass the verifier key from your documentation with --key." });
    keys = [published.stdout.toString("utf8").trim()];
    keySource = "branch";
  }
  return withStore(io, values.db, async (store) => {
    const origin = await store.origin();
    const deep = values.deep === true ? await deepCheck(store) : undefined;
    const report = await verifyStoredTrail(store, { root, ref, verifierKeys: keys, env: process.env, cwd: io.cwd, db: values.db, ...(deep === undefined ? {} : { onEvent: deep.onEvent }) });
    const problems = [...report.problems, ...(deep?.problems() ?? [])];
    const full: TrailVerifyReport = { ...report, ok: problems.length === 0, problems };
    if (values.format === "json") io.out(`${JSON.stringify({ trail: store.location, origin, branch: ref, keySource, ...full }, null, 2)}\n`);
    else io.out(renderReport(full, store.location, origin, ref, keySource));
    return full.ok ? EXIT.ok : EXIT.findings;
  });
}

function renderReport(report: TrailVerifyReport, location: string, origin: string, ref: string, keySource: string): string {
  let out = `${report.ok ? "OK" : "FAILED"}  action trail ${origin} in ${location}: ${report.events} events, root ${report.root}; the alert store checked against the trail's log of alerts and evaluations\n`;
  out += `  anchored on ${ref} through event ${report.anchoredThrough}; sealed through ${report.sealedThrough}`;
  out += report.events > report.anchoredThrough ? `; events ${report.anchoredThrough + 1}–${report.events} are chained but not yet anchored (their tampering shows once they are)\n` : "\n";
  for (const p of report.problems) out += `  ${p.code}${p.seq === undefined ? "" : ` at event ${p.seq}`}: ${p.message}\n`;
  if (keySource === "branch") out += "note: checked against the key published on the branch itself; pass --key from your documentation to also prove who signed.\n";
  return out;
}

export async function trailProveCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseOptions({ args: [...argv], allowPositionals: true, strict: true, options: { ...COMMON_OPTIONS, format: { type: "string", default: "json" } } }, TRAIL_HELP);
  const wanted = positionals[0];
  if (wanted === undefined || positionals.length > 1) throw new CharterError("USAGE", "name one event: its seq, or its 32-hex-digit id", { hint: "charter audit actions lists both." });
  return withStore(io, values.db, async (store) => {
    let seq: number;
    if (/^\d{1,15}$/.test(wanted)) seq = Number(wanted);
    else if (/^[0-9a-f]{32}$/.test(wanted)) {
      const row = (await store.select("SELECT seq FROM events WHERE id = ? ORDER BY seq LIMIT 1", [Buffer.from(wanted, "hex")]))[0];
      if (row === undefined) throw new CharterError("NOT_FOUND", `no event ${wanted} in the trail`, { hint: "Check the id; charter audit actions lists them." });
      seq = Number(row["seq"]);
    } else throw new CharterError("USAGE", `${JSON.stringify(wanted.slice(0, 80))} is neither a seq nor an event id`, { hint: "Give the seq (a number) or the 32-hex-digit id." });
    const [link] = await store.readChain(seq, 1);
    if (link?.seq !== seq) throw new CharterError("NOT_FOUND", `the trail has no event ${seq}`, { hint: "charter trail status shows how many events it holds." });
    const segment = (await store.segments()).find((s) => s.fromSeq <= seq && seq <= s.toSeq);
    if (segment === undefined) throw new CharterError("NOT_FOUND", `event ${seq} is not sealed in a segment yet`, { hint: "The app seals every minute; charter trail seal seals now." });
    const proof = await inclusionProofFor(seq - 1, segment.toSeq, {
      leaves: (from, to) => store.leafHashes(from, to),
      tiles: (from, to) => store.tiles(from, to),
    });
    const origin = await store.origin();
    // The proof is checked before it is shown: a store whose tree does not match its own
    // checkpoint must not print a proof that looks valid.
    const root = Buffer.from(segment.root, "hex");
    if (!verifyInclusion(seq - 1, segment.toSeq, link.hash, proof, root)) {
      throw new CharterError("INVALID_RECORD", `event ${seq} is not in the tree its segment's checkpoint signs: the trail was altered`, { hint: "Run charter trail verify." });
    }
    const answer = {
      event: eventFromBytes(link.bytes, link.hash.toString("hex")),
      bytes: link.bytes.toString("utf8"),
      previousHash: seq === 1 ? GENESIS_HASH : ((await store.readChain(seq - 1, 1))[0]?.hash.toString("hex") ?? null),
      leafIndex: seq - 1,
      treeSize: segment.toSeq,
      proof: proof.map((h) => Buffer.from(h).toString("hex")),
      root: segment.root,
      segment: segment.index,
      anchor: segment.anchor,
      checkpoint: segment.checkpoint,
      origin,
      howToCheck:
        "leaf = SHA-256(0x00 ‖ previous event's hash ‖ bytes), equal to event.hash; fold the proof as RFC 9162 §2.1.3.2 for leafIndex in treeSize to get root; the checkpoint (C2SP signed note, the evidence ledger's key) signs origin, treeSize and root; the anchor record on the evidence branch lists the segment and root.",
    };
    io.out(`${JSON.stringify(answer, null, 2)}\n`);
    return EXIT.ok;
  });
}
