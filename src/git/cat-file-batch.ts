import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { CharterError } from "../errors.js";
import { firstLine, gitEnvironment } from "./run-git.js";

const OBJECT_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

interface Waiter {
  readonly resolve: (bytes: Buffer | null) => void;
  readonly reject: (error: Error) => void;
}

/**
 * The answers to one readMany, filled in order: the queue holds it once per id, so a batch of a
 * few hundred reads costs one promise, not one each.
 */
class BatchWaiter implements Waiter {
  private readonly answers: (Buffer | null)[] = [];

  constructor(
    private readonly size: number,
    private readonly done: (answers: (Buffer | null)[]) => void,
    readonly reject: (error: Error) => void,
  ) {}

  resolve(bytes: Buffer | null): void {
    this.answers.push(bytes);
    if (this.answers.length === this.size) this.done(this.answers);
  }
}

/**
 * One long-lived `git cat-file --batch` process: blobs are requested by object id on its stdin
 * and answered in order on its stdout, so reading a thousand prompt files costs one process, not
 * a thousand. Only object ids ever reach the process, never paths: the line-based protocol then
 * has nothing an attacker can inject into.
 */
export class CatFileBatch {
  private readonly child: ChildProcessWithoutNullStreams;
  // A queue read from `head`: Array.shift would move every pending read for each answer.
  private waiting: Waiter[] = [];
  private head = 0;
  private header = Buffer.alloc(0);
  private body: Buffer | undefined;
  private filled = 0;
  private stderr = "";
  private failure: Error | undefined;
  private closed: Promise<void> | undefined;
  private corked = false;

  constructor(cwd: string) {
    this.child = spawn("git", ["cat-file", "--batch"], { cwd, env: gitEnvironment(), stdio: "pipe", windowsHide: true });
    this.child.stdout.on("data", (chunk: Buffer) => {
      this.consume(chunk);
    });
    this.child.stderr.on("data", (chunk: Buffer) => {
      if (this.stderr.length < 4096) this.stderr += chunk.toString("utf8");
    });
    this.child.on("error", (error: NodeJS.ErrnoException) => {
      this.fail(
        error.code === "ENOENT"
          ? new CharterError("IO", "git is not installed or not on PATH", { hint: "Install git; charter diff reads commits with it.", cause: error })
          : new CharterError("IO", `git cat-file failed: ${error.message}`, { cause: error }),
      );
    });
    this.child.on("close", (code) => {
      this.fail(new CharterError("IO", `git cat-file exited (${code ?? "signal"})${this.stderr ? `: ${firstLine(this.stderr)}` : ""}`));
    });
    // A write after git has gone surfaces through "close"; without this listener it would crash the process.
    this.child.stdin.on("error", () => undefined);
  }

  /** The object's content, or null when git does not have it. */
  read(objectId: string): Promise<Buffer | null> {
    if (!OBJECT_ID.test(objectId)) return Promise.reject(new CharterError("INTERNAL", `not an object id: ${JSON.stringify(objectId)}`));
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new CharterError("INTERNAL", "git cat-file was closed"));
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      // Reads asked for in one turn go to git in one write: a write per id was a system call
      // per record, a tenth of charter verify's time on a large ledger.
      if (!this.corked) {
        this.corked = true;
        this.child.stdin.cork();
        process.nextTick(() => {
          this.corked = false;
          this.child.stdin.uncork();
        });
      }
      this.child.stdin.write(`${objectId}\n`);
    });
  }

  /**
   * The contents of many objects, in the order asked, each null when git does not have it: one
   * write to git and one promise for the lot. Reading a whole ledger, a promise per record was a
   * measurable share of charter verify's time.
   */
  readMany(objectIds: readonly string[]): Promise<(Buffer | null)[]> {
    for (const id of objectIds) {
      if (!OBJECT_ID.test(id)) return Promise.reject(new CharterError("INTERNAL", `not an object id: ${JSON.stringify(id)}`));
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new CharterError("INTERNAL", "git cat-file was closed"));
    if (objectIds.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      const waiter = new BatchWaiter(objectIds.length, resolve, reject);
      for (let i = 0; i < objectIds.length; i++) this.waiting.push(waiter);
      this.child.stdin.write(`${objectIds.join("\n")}\n`);
    });
  }

  /** Ends the process after it has answered everything asked so far. Safe to call twice. */
  close(): Promise<void> {
    this.closed ??= new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null || this.failure) {
        resolve();
        return;
      }
      this.child.once("close", () => {
        resolve();
      });
      this.child.stdin.end();
    });
    return this.closed;
  }

  private fail(error: Error): void {
    this.failure ??= error;
    // A batch is queued once per id; it is told once.
    const waiters = new Set(this.waiting.slice(this.head));
    this.waiting = [];
    this.head = 0;
    for (const waiter of waiters) waiter.reject(this.failure);
  }

  private next(): Waiter | undefined {
    const waiter = this.waiting[this.head];
    if (waiter === undefined) return undefined;
    this.head += 1;
    // Drop the answered front now and then, so the array does not grow with every read ever made.
    if (this.head >= 1024 && this.head * 2 >= this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    return waiter;
  }

  /**
   * Each answer is "<id> <type> <size>\n", the content and "\n", or "<id> missing\n". A content
   * wholly inside the chunk goes to a batch as a view of it (each chunk is a fresh buffer, never
   * reused); one split across chunks is copied straight into a buffer of the announced size, so a
   * large blob arriving in many chunks is not re-concatenated for every chunk.
   */
  private consume(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.body && this.header.length === 0) {
        const newline = chunk.indexOf(0x0a, offset);
        if (newline !== -1) {
          const size = answerSize(chunk.toString("latin1", offset, newline));
          offset = newline + 1;
          if (size === null) {
            this.next()?.resolve(null);
            continue;
          }
          if (offset + size < chunk.length) {
            const body = chunk.subarray(offset, offset + size);
            offset += size + 1;
            // A batch's reader works through its answers and lets them go; a single read may be
            // kept (a prompt, a policy), and must not keep the whole chunk alive with it.
            const waiter = this.next();
            waiter?.resolve(waiter instanceof BatchWaiter ? body : Buffer.from(body));
            continue;
          }
          this.body = Buffer.allocUnsafe(size);
          this.filled = 0;
          continue;
        }
      }
      if (this.body) {
        const take = Math.min(this.body.length + 1 - this.filled, chunk.length - offset);
        const copy = Math.min(take, this.body.length - this.filled);
        if (copy > 0) chunk.copy(this.body, this.filled, offset, offset + copy);
        this.filled += take;
        offset += take;
        if (this.filled === this.body.length + 1) {
          const body = this.body;
          this.body = undefined;
          this.next()?.resolve(body);
        }
        continue;
      }
      const newline = chunk.indexOf(0x0a, offset);
      if (newline === -1) {
        this.header = Buffer.concat([this.header, chunk.subarray(offset)]);
        return;
      }
      const line = Buffer.concat([this.header, chunk.subarray(offset, newline)]).toString("latin1");
      this.header = Buffer.alloc(0);
      offset = newline + 1;
      const size = answerSize(line);
      if (size === null) {
        this.next()?.resolve(null);
        continue;
      }
      this.body = Buffer.allocUnsafe(size);
      this.filled = 0;
    }
  }
}

/** The content size an answer's header announces, or null for "<id> missing" and anything else. */
function answerSize(line: string): number | null {
  const hit = /^[0-9a-f]+ [a-z]+ (\d+)$/.exec(line);
  return hit ? Number(hit[1]) : null;
}
