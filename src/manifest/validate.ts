import { posix } from "node:path";
import type { AgentManifest } from "../schema-types/agent-manifest.generated.js";
import { checkManifest } from "./check-manifest.js";
import { decodeText } from "./decode.js";
import { compareDiagnostics, type Diagnostic, diagnostic, FILE_START } from "./diagnostic.js";
import { DEFAULT_LIMITS, type Limits } from "./limits.js";
import type { ParsedYaml } from "./parse-yaml.js";
import type { RepoEntry, RepoReader } from "./repo-reader.js";
import { scanForSecrets } from "./secrets.js";

export interface CheckedPrompt {
  /** As written in the manifest, relative to the manifest's directory. */
  readonly declared: string;
  /** Repository-relative path of the file whose content was hashed (after following symlinks). */
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
}

export interface CheckedAgent {
  readonly id: string;
  readonly file: string;
  readonly manifest: AgentManifest;
  readonly manifestSha256: string;
  /** Prompts that could be read; a missing or rejected one is a diagnostic instead. */
  readonly prompts: readonly CheckedPrompt[];
  /**
   * Where a JSON Pointer sits in the manifest file, so that checks made after validation (such
   * as provisioning's enforceability) can still name the line.
   */
  readonly locate?: ParsedYaml["locate"];
}

export interface ValidationReport {
  readonly ok: boolean;
  readonly filesChecked: number;
  readonly agents: readonly CheckedAgent[];
  readonly diagnostics: readonly Diagnostic[];
}

interface Pending {
  readonly file: string;
  readonly manifest: AgentManifest;
  readonly parsed: ParsedYaml;
  readonly bytes: Uint8Array;
  readonly prompts: CheckedPrompt[];
}

/**
 * node:crypto is looked up when a hash is first wanted, not when this module loads: loading it
 * loads the stream modules too, a few milliseconds that `charter validate`, which prints no
 * hashes, would pay at every start.
 */
export function sha256Hex(bytes: Uint8Array): string {
  return process.getBuiltinModule("node:crypto").createHash("sha256").update(bytes).digest("hex");
}

/** A hash computed on first read and kept: the report's readers that never look pay nothing. */
function lazySha256(bytes: Uint8Array): () => string {
  let hex: string | undefined;
  return () => (hex ??= sha256Hex(bytes));
}

/**
 * Validates manifests and the prompt files they reference. The same function serves
 * `charter validate` (working tree) and the GitHub App (files at a pull request's head): only the
 * RepoReader differs.
 */
export async function validateManifests(files: readonly string[], reader: RepoReader, limits: Limits = DEFAULT_LIMITS): Promise<ValidationReport> {
  const diagnostics: Diagnostic[] = [];
  const pending: Pending[] = [];
  let filesChecked = 0;

  const entries = await reader.read(files, limits.maxManifestBytes);
  for (const file of files) {
    const entry = entries.get(file) ?? { kind: "missing" };
    filesChecked++;
    if (entry.kind !== "file") {
      diagnostics.push(unreadable(file, entry, limits.maxManifestBytes));
      continue;
    }
    const check = checkManifest(file, entry.bytes, limits);
    diagnostics.push(...check.diagnostics);
    if (check.manifest && check.parsed) {
      pending.push({ file, manifest: check.manifest, parsed: check.parsed, bytes: entry.bytes, prompts: [] });
    }
  }

  filesChecked += await checkPrompts(pending, reader, limits, diagnostics);
  reportDuplicateIds(pending, diagnostics);

  diagnostics.sort(compareDiagnostics);
  return {
    ok: !diagnostics.some((d) => d.severity === "error"),
    filesChecked,
    agents: pending.map((p) => {
      const hash = lazySha256(p.bytes);
      return {
        id: p.manifest.id,
        file: p.file,
        manifest: p.manifest,
        get manifestSha256() {
          return hash();
        },
        prompts: p.prompts,
        locate: (pointer, prefer) => p.parsed.locate(pointer, prefer),
      };
    }),
    diagnostics,
  };
}

function unreadable(file: string, entry: RepoEntry, maxBytes: number): Diagnostic {
  switch (entry.kind) {
    case "too-large":
      return diagnostic(file, FILE_START, "file/too-large", `manifest is ${entry.size} bytes; the limit is ${maxBytes}`, "Keep manifests small: move long text into prompt files.");
    case "binary":
      return diagnostic(file, FILE_START, "file/encoding", "manifest is a binary file", "Save the manifest as UTF-8 YAML.");
    case "symlink":
      return diagnostic(file, FILE_START, "file/not-a-file", "manifest is a symbolic link", "Commit the manifest itself, not a link to it.");
    case "directory":
      return diagnostic(file, FILE_START, "file/not-a-file", "manifest path is a directory", "Point at agents/<id>/agent.yaml.");
    default:
      return diagnostic(file, FILE_START, "file/not-a-file", "manifest file does not exist", "Check the path.");
  }
}

interface PromptRef {
  readonly owner: Pending;
  readonly index: number;
  readonly declared: string;
  /** The agent's directory: nothing outside it may be reached, directly or through symlinks. */
  readonly root: string;
  path: string;
  hops: number;
}

/** Reads every referenced prompt in batches, following symlinks a bounded number of times. */
async function checkPrompts(pending: readonly Pending[], reader: RepoReader, limits: Limits, out: Diagnostic[]): Promise<number> {
  let queue: PromptRef[] = [];
  for (const owner of pending) {
    const root = posix.dirname(owner.file);
    const seen = new Set<string>();
    owner.manifest.prompts.forEach((prompt, index) => {
      const path = posix.join(root, prompt.path);
      // Textual escapes and duplicates were already reported by the prompt-paths lint.
      if (!path.startsWith(root + "/") || seen.has(path)) return;
      seen.add(path);
      queue.push({ owner, index, declared: prompt.path, root, path, hops: 0 });
    });
  }

  let read = 0;
  while (queue.length > 0) {
    const entries = await reader.read([...new Set(queue.map((r) => r.path))], limits.maxPromptBytes);
    const next: PromptRef[] = [];
    for (const ref of queue) {
      const entry = entries.get(ref.path) ?? { kind: "missing" };
      const at = ref.owner.parsed.locate(`/prompts/${ref.index}/path`);
      const pointer = `/prompts/${ref.index}/path`;
      const report = (rule: Parameters<typeof diagnostic>[2], message: string, fix: string): void => {
        out.push(diagnostic(ref.owner.file, at, rule, message, fix, { pointer }));
      };
      switch (entry.kind) {
        case "missing":
          report("prompt/missing", `prompt file "${ref.declared}" does not exist${ref.hops > 0 ? ` (link resolves to ${ref.path})` : ""}`, `Add ${ref.path} or correct the path.`);
          break;
        case "binary":
          out.push(diagnostic(ref.path, FILE_START, "file/encoding", "prompt is a binary file", "Prompts are UTF-8 text; binary files cannot be prompts."));
          break;
        case "directory":
          report("prompt/not-a-file", `prompt "${ref.declared}" is a directory`, "Reference a file.");
          break;
        case "too-large":
          report("prompt/too-large", `prompt "${ref.declared}" is ${entry.size} bytes; the limit is ${limits.maxPromptBytes}`, "Shorten or split the prompt.");
          break;
        case "symlink": {
          if (ref.hops >= limits.maxSymlinkHops) {
            report("prompt/symlink-escape", `prompt "${ref.declared}" goes through more than ${limits.maxSymlinkHops} symbolic links`, "Reference the file directly.");
            break;
          }
          const target = entry.target.startsWith("/") ? entry.target : posix.normalize(posix.join(posix.dirname(ref.path), entry.target));
          if (!target.startsWith(ref.root + "/")) {
            report("prompt/symlink-escape", `prompt "${ref.declared}" is a symbolic link leading outside ${ref.root}/`, "Replace the link with the file itself, inside the agent's directory.");
            break;
          }
          next.push({ ...ref, path: target, hops: ref.hops + 1 });
          break;
        }
        case "file": {
          read++;
          const decoded = decodeText(ref.path, entry.bytes, limits.maxPromptBytes, "prompt");
          if (!decoded.ok) {
            out.push(...decoded.diagnostics);
            break;
          }
          out.push(...scanForSecrets(ref.path, decoded.text));
          const hash = lazySha256(entry.bytes);
          ref.owner.prompts.push({
            declared: ref.declared,
            path: ref.path,
            get sha256() {
              return hash();
            },
            size: entry.bytes.byteLength,
          });
          break;
        }
      }
    }
    queue = next;
  }
  return read;
}

function reportDuplicateIds(pending: readonly Pending[], out: Diagnostic[]): void {
  const first = new Map<string, string>();
  for (const p of pending) {
    const other = first.get(p.manifest.id);
    if (other === undefined) {
      first.set(p.manifest.id, p.file);
      continue;
    }
    out.push(
      diagnostic(p.file, p.parsed.locate("/id"), "manifest/duplicate-id", `id "${p.manifest.id}" is already used by ${other}`, "Give every agent its own id; keep exactly one manifest per agent directory.", { pointer: "/id" }),
    );
  }
}
