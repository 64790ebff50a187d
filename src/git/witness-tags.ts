import { createHash } from "node:crypto";
import { writeFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { CharterError } from "../errors.js";
import { CatFileBatch } from "./cat-file-batch.js";
import { firstLine, gitOutput, runGit } from "./run-git.js";

/**
 * Where witnesses publish: one annotated tag per cosigned checkpoint,
 * refs/tags/charter-witness/<16 hex of SHA-256(witness verifier key)>/<size>, pointing at the
 * evidence-branch commit whose checkpoint was cosigned, its message the cosigned checkpoint note.
 * A tag that points into the branch's history travels with it: git clone (also --single-branch)
 * and git fetch of the branch bring it along, so an auditor's clone of the evidence branch holds
 * the cosignatures without anyone copying them onto the branch. Tags never move: each cosignature
 * is a new tag, and the old ones stay as the record of what each witness saw.
 */
const WITNESS_TAG_PREFIX = "refs/tags/charter-witness/";
// A witness cosigning hourly for five years leaves about 44,000 tags; beyond this it is an attack on the verifier.
const MAX_WITNESS_TAGS = 200_000;

export function witnessTagName(witnessVerifierKey: string, size: number): string {
  const id = createHash("sha256").update(witnessVerifierKey).digest("hex").slice(0, 16);
  return `${WITNESS_TAG_PREFIX}${id}/${String(size)}`;
}

/** Every annotated tag under refs/tags/charter-witness/, with its message. Lightweight tags are skipped. */
export async function readWitnessNotes(repoRoot: string): Promise<{ source: string; note: string }[]> {
  const listing = (await gitOutput(repoRoot, ["for-each-ref", "--format=%(objecttype) %(objectname) %(refname)", WITNESS_TAG_PREFIX])).toString("utf8");
  const tags = listing
    .split("\n")
    .filter((line) => line.startsWith("tag "))
    .map((line) => {
      const [, object = "", ...name] = line.split(" ");
      return { object, ref: name.join(" ") };
    });
  if (tags.length > MAX_WITNESS_TAGS) {
    throw new CharterError("LIMIT_EXCEEDED", `the repository holds ${tags.length} witness tags, more than ${MAX_WITNESS_TAGS}`, { hint: "Someone flooded refs/tags/charter-witness/; ask the operator to remove tags no trusted witness made." });
  }
  const batch = new CatFileBatch(repoRoot);
  try {
    const bodies = await Promise.all(tags.map((t) => batch.read(t.object)));
    return tags.flatMap((t, i) => {
      const body = bodies[i]?.toString("utf8") ?? "";
      // A tag object is headers, a blank line, then the message.
      const split = body.indexOf("\n\n");
      return split < 0 ? [] : [{ source: t.ref.replace(/^refs\/tags\//, "tag "), note: body.slice(split + 2) }];
    });
  } finally {
    await batch.close();
  }
}

/** Creates the tag in `repoRoot` (unless it exists with this message) and returns its name. */
export async function createWitnessTag(repoRoot: string, name: string, commit: string, note: string, scratchDir: string): Promise<void> {
  const existing = await runGit(repoRoot, ["cat-file", "tag", name]);
  if (existing.code === 0) {
    const body = existing.stdout.toString("utf8");
    if (body.slice(body.indexOf("\n\n") + 2) === note) return;
    throw new CharterError("CONFLICT", `${name} already exists with another cosignature`, { hint: "A witness cosigns a size once; restore the witness state from its backup." });
  }
  const messageFile = join(scratchDir, "cosignature.tmp");
  await writeFile(messageFile, note);
  try {
    // Verbatim: git's default clean-up would strip lines and whitespace from the note. The tagger is informational.
    await gitOutput(repoRoot, ["-c", "user.name=Charter witness", "-c", "user.email=witness@charter.invalid", "tag", "--no-sign", "--cleanup=verbatim", "-a", "-F", messageFile, name.replace(/^refs\/tags\//, ""), commit]);
  } finally {
    await rm(messageFile, { force: true });
  }
}

/** Pushes the tag to the repository the witness read; an existing identical tag is fine. */
export async function pushWitnessTag(repoRoot: string, remote: string, name: string): Promise<void> {
  const result = await runGit(repoRoot, ["push", "--quiet", "--", remote, `${name}:${name}`]);
  if (result.code !== 0) {
    throw new CharterError("IO", `could not publish ${name} to ${remote}: ${firstLine(result.stderr.split("\n").filter((l) => !l.startsWith("hint:")).join("\n"))}`, {
      hint: "The witness needs permission to create tags matching charter-witness/* in that repository; its state is saved, so the next run publishes again.",
    });
  }
}
