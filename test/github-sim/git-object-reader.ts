// One long-lived `git cat-file --batch` per repository. GraphQL lookups batch dozens of
// `object(expression:)` reads per query; a process per read would cost ~3 ms each on 2 cores.

import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { spawnGroup } from "../helpers/child-processes.js";

export interface RawObject {
  readonly sha: string;
  readonly type: "blob" | "tree" | "commit" | "tag";
  readonly data: Buffer;
}

interface Pending {
  readonly resolve: (object: RawObject | null) => void;
  readonly reject: (error: Error) => void;
}

export class GitObjectReader {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly queue: Pending[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private failure: Error | null = null;

  constructor(gitDir: string) {
    // With stdio "pipe" every stream exists; spawnGroup types the child for any stdio.
    this.child = spawnGroup("git", ["--git-dir", gitDir, "cat-file", "--batch"], { stdio: "pipe" }).child as ChildProcessWithoutNullStreams;
    this.child.stdout.on("data", (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    this.child.on("error", (error) => {
      this.fail(error);
    });
    this.child.on("exit", () => {
      this.fail(new Error("github-sim: git cat-file --batch exited"));
    });
  }

  /**
   * Reads any revision expression git understands ("<sha>", "main:dir/file", "main^{commit}").
   * Null when git reports it missing or ambiguous.
   */
  read(expression: string): Promise<RawObject | null> {
    // The batch protocol is line-based: a newline would be read as a second request.
    if (expression.includes("\n") || expression.length === 0) return Promise.resolve(null);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject });
      this.child.stdin.write(`${expression}\n`);
    });
  }

  close(): Promise<void> {
    if (this.child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once("exit", () => {
        resolve();
      });
      this.child.stdin.end();
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const pending of this.queue.splice(0)) pending.reject(error);
  }

  /** Answers arrive in request order; each is a header line, then for hits `size` bytes and "\n". */
  private drain(): void {
    for (;;) {
      const pending = this.queue[0];
      if (!pending) return;
      const newline = this.buffer.indexOf(0x0a);
      if (newline < 0) return;
      const header = this.buffer.subarray(0, newline).toString("utf8");
      const hit = /^([0-9a-f]{40,64}) (blob|tree|commit|tag) (\d+)$/.exec(header);
      if (!hit) {
        // "<expr> missing" or "<expr> ambiguous": no body follows.
        this.buffer = this.buffer.subarray(newline + 1);
        this.queue.shift();
        pending.resolve(null);
        continue;
      }
      const [, sha = "", type = "", sizeText = "0"] = hit;
      const size = Number(sizeText);
      const end = newline + 1 + size;
      if (this.buffer.length < end + 1) return;
      const data = Buffer.from(this.buffer.subarray(newline + 1, end));
      this.buffer = this.buffer.subarray(end + 1);
      this.queue.shift();
      pending.resolve({ sha, type: type as RawObject["type"], data });
    }
  }
}
