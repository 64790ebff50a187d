import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { CharterError, type CharterErrorCode } from "../errors.js";
import type { TrailColumns } from "./sqlite-trail-columns.js";
import type { SourcePosition } from "./trail-store.js";

/** How the writer thread opens the trail. */
export interface WriterSetup {
  readonly path: string;
  readonly durable: boolean;
  readonly cacheKiB: number;
}

/** A batch for the writer thread: laid out after seq `tipSeq`, its rows as columns, its stored lines (layoutEvents) and the positions saved with it. */
export interface WriteRequest {
  readonly tipSeq: number;
  readonly rows: TrailColumns;
  readonly lines: Uint8Array;
  readonly ends: ArrayLike<number>;
  readonly positions: readonly SourcePosition[];
  readonly nowMs: number;
}

/** What became of a batch: stored (with its chain hashes, 32 bytes each), refused, or failed. */
export type WriteReply =
  | { readonly outcome: "stored"; readonly hashes: Uint8Array }
  | { readonly outcome: "conflict" }
  | { readonly outcome: "failed"; readonly code: CharterErrorCode; readonly message: string; readonly hint: string | null };

/**
 * The store's side of its writer thread (sqlite-trail-writer.ts): batches go out in the order
 * given and their outcomes come back in that order. The thread is started at the first write
 * and holds the process open only while a write is outstanding, so a process that is done
 * exits even if it never closed the store. If the thread dies, every outstanding write is
 * rejected (those events were not acknowledged, and a retry finds any that were stored as
 * duplicates) and `failed` tells the store to write on its own connection from then on.
 */
export class WriterThread {
  readonly #setup: WriterSetup;
  #worker: Worker | null = null;
  readonly #waiting: { resolve: (outcome: Uint8Array | "conflict") => void; reject: (error: unknown) => void }[] = [];
  readonly #idle: (() => void)[] = [];
  #failure: CharterError | null = null;
  #closing = false;

  constructor(setup: WriterSetup) {
    this.#setup = setup;
  }

  get failed(): boolean {
    return this.#failure !== null;
  }

  /** Writes not yet answered. */
  get busy(): number {
    return this.#waiting.length;
  }

  /**
   * Resolves with the batch's chain hashes once it is durable, or "conflict" when it was refused.
   * The request's buffers are moved to the thread, not copied: the caller must not use its
   * columns afterwards.
   */
  write(request: WriteRequest): Promise<Uint8Array | "conflict"> {
    if (this.#failure !== null) return Promise.reject(this.#failure);
    const worker = this.#worker ?? this.#start();
    // The lines are copied into a buffer of their own and moved, not cloned: cloning a view copies
    // its whole underlying buffer, which may be Node's shared pool.
    const lines = new Uint8Array(request.lines);
    const ends = Uint32Array.from(request.ends);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      worker.ref();
      worker.postMessage({ ...request, lines, ends } satisfies WriteRequest, [lines.buffer, ends.buffer, request.rows.buffer]);
    });
  }

  /** Resolves once every write given so far is answered. */
  idle(): Promise<void> {
    if (this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.idle();
    const worker = this.#worker;
    if (worker === null) return;
    const exited = once(worker, "exit");
    // Held open until the thread has closed its connection: unreferenced, a process with nothing
    // else to do would end here and never return from close.
    worker.ref();
    worker.postMessage("close");
    await exited;
  }

  #start(): Worker {
    const worker = spawnWriter(this.#setup);
    worker.on("message", (reply: WriteReply) => {
      const waiting = this.#waiting.shift();
      if (this.#waiting.length === 0) this.#settled();
      if (waiting === undefined) return;
      if (reply.outcome === "failed") waiting.reject(new CharterError(reply.code, reply.message, reply.hint === null ? {} : { hint: reply.hint }));
      else waiting.resolve(reply.outcome === "stored" ? reply.hashes : "conflict");
    });
    worker.on("error", (error) => {
      this.#fail(error.message);
    });
    worker.on("exit", (code) => {
      this.#worker = null;
      if (!this.#closing || this.#waiting.length > 0) this.#fail(`it exited with code ${String(code)}`);
    });
    worker.unref();
    this.#worker = worker;
    return worker;
  }

  #settled(): void {
    this.#worker?.unref();
    for (const resolve of this.#idle.splice(0)) resolve();
  }

  #fail(reason: string): void {
    this.#failure ??= new CharterError("IO", `the writer thread of the trail store ${this.#setup.path} stopped (${reason}): the events it was writing were not acknowledged`, {
      hint: "Submit them again: any that were stored are recognised as duplicates.",
    });
    const failure = this.#failure;
    for (const waiting of this.#waiting.splice(0)) waiting.reject(failure);
    this.#settled();
  }
}

function spawnWriter(setup: WriterSetup): Worker {
  const here = import.meta.url;
  // No flags from the parent: the writer needs none, and some are refused for a worker started
  // from a file (a process started with --input-type or --eval would fail to start its writer).
  const execArgv: string[] = [];
  if (here.endsWith(".ts")) {
    // Run from the TypeScript sources (tests, benchmarks): a worker does not inherit its parent's
    // module loader, so it registers the TypeScript one before loading the writer.
    const entry = JSON.stringify(new URL("./sqlite-trail-writer.ts", here).href);
    return new Worker(`import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${entry}); });`, { eval: true, workerData: setup, execArgv });
  }
  return new Worker(new URL("./sqlite-trail-writer.js", here), { workerData: setup, execArgv });
}
