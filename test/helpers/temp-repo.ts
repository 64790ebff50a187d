import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export type FileSpec = string | Uint8Array | { symlink: string };

export interface TempRepo {
  readonly root: string;
  write(files: Readonly<Record<string, FileSpec>>): void;
  git(...args: string[]): string;
  commitAll(message: string): string;
  remove(): void;
}

/**
 * A throwaway git repository with a fixed identity, so tests run against real files, real
 * symlinks and real commits rather than an in-memory imitation.
 */
export function tempRepo(files: Readonly<Record<string, FileSpec>> = {}): TempRepo {
  const root = mkdtempSync(join(tmpdir(), "charter-test-"));
  const git = (...args: string[]): string =>
    execFileSync("git", args, { cwd: root, encoding: "utf8", env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1" } }).trim();
  git("init", "-q", "-b", "main");
  git("config", "user.name", "Charter Test");
  git("config", "user.email", "test@charter.invalid");
  git("config", "commit.gpgsign", "false");
  // git may start auto-gc in the background after a commit or push; removing the directory while
  // it writes packs fails with ENOTEMPTY. Throwaway repositories never need packing.
  git("config", "gc.auto", "0");
  git("config", "maintenance.auto", "false");
  const repo: TempRepo = {
    root,
    write(more) {
      for (const [path, spec] of Object.entries(more)) {
        const absolute = join(root, path);
        mkdirSync(dirname(absolute), { recursive: true });
        rmSync(absolute, { force: true });
        if (typeof spec === "object" && "symlink" in spec) symlinkSync(spec.symlink, absolute);
        else writeFileSync(absolute, spec);
      }
    },
    git,
    commitAll(message) {
      git("add", "-A");
      git("commit", "-q", "--allow-empty", "-m", message);
      return git("rev-parse", "HEAD");
    },
    remove() {
      rmSync(root, { recursive: true, force: true, maxRetries: 5 });
    },
  };
  repo.write(files);
  return repo;
}
