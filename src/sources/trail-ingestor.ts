import { CharterError } from "../errors.js";
import { decide, type IngestContext } from "../trail/decide.js";
import type { SourceEvent, TrailEvent } from "../trail/event.js";
import type { AppendResult, SourcePosition, TrailStore } from "./trail-store.js";

/**
 * Called with events once they are durable, in seq order: where live detection plugs in. A
 * consumer runs after the events are acknowledged-safe and can never change or lose them; a
 * consumer that throws is reported and the others still run.
 */
export type DurableConsumer = (events: readonly TrailEvent[]) => void | Promise<void>;

export interface IngestorOptions {
  /** Events accepted but not yet stored beyond which submit refuses (backpressure). Default 50,000. */
  readonly maxQueued?: number;
  /** Events stored per transaction at most. Default 5,000. */
  readonly batchSize?: number;
  /** The clock for receivedAt. */
  readonly now?: () => number;
  /** Where a failing consumer is reported; default stderr. */
  readonly onConsumerError?: (error: unknown) => void;
}

interface Pending {
  readonly events: readonly SourceEvent[];
  readonly positions: readonly SourcePosition[];
  readonly receivedMs: number;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The one ingest path every source uses (the HTTP receivers, the log followers, charter trail
 * ingest): it stamps receive time, decides attribution and enrichment, and stores events in
 * batches (group commit: the submissions waiting while one transaction runs share the next). A
 * submission's promise resolves only when its events are committed, so a caller acknowledges
 * only what is on disk. Memory is bounded: past maxQueued waiting events a submission is
 * refused with OVERLOADED, which HTTP sources answer with 429.
 */
export class TrailIngestor {
  readonly #store: TrailStore;
  readonly #context: () => IngestContext;
  readonly #maxQueued: number;
  readonly #batchSize: number;
  readonly #now: () => number;
  readonly #onConsumerError: (error: unknown) => void;
  readonly #consumers: DurableConsumer[] = [];
  readonly #pending: Pending[] = [];
  #queued = 0;
  #flushing: Promise<void> | null = null;
  #notified: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(store: TrailStore, context: () => IngestContext, options: IngestorOptions = {}) {
    this.#store = store;
    this.#context = context;
    this.#maxQueued = options.maxQueued ?? 50_000;
    this.#batchSize = options.batchSize ?? 5_000;
    this.#now = options.now ?? Date.now;
    this.#onConsumerError = options.onConsumerError ?? ((error) => process.stderr.write(`charter trail: a consumer failed: ${error instanceof Error ? error.message : String(error)}\n`));
  }

  /** Registers a consumer of durable events (detection). */
  onDurable(consumer: DurableConsumer): void {
    this.#consumers.push(consumer);
  }

  /** Events accepted and not yet stored. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * Stores the events (and the source positions reached with them) durably; resolves with what
   * was stored and how many were already in the trail.
   */
  submit(events: readonly SourceEvent[], positions: readonly SourcePosition[] = []): Promise<AppendResult> {
    if (this.#closed) return Promise.reject(new CharterError("IO", "the trail ingestor is closed"));
    if (this.#queued > 0 && this.#queued + events.length > this.#maxQueued) {
      return Promise.reject(
        new CharterError("OVERLOADED", `${this.#queued} events are waiting to be stored; this batch of ${events.length} would pass the limit of ${this.#maxQueued}`, {
          hint: "Retry after a pause; send smaller batches.",
        }),
      );
    }
    const receivedMs = this.#now();
    return new Promise<AppendResult>((resolve, reject) => {
      this.#pending.push({ events, positions, receivedMs, resolve, reject });
      this.#queued += events.length;
      this.#kick();
    });
  }

  /** Resolves once everything submitted so far is stored (or failed). */
  async drain(): Promise<void> {
    while (this.#flushing !== null) await this.#flushing;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.drain();
  }

  #kick(): void {
    if (this.#flushing !== null) return;
    this.#flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#flushAll())
      .finally(() => {
        this.#flushing = null;
        if (this.#pending.length > 0) this.#kick();
      });
  }

  async #flushAll(): Promise<void> {
    // Up to the store's appendsInFlight batches at once: the next is decided while one commits.
    // The store keeps them in call order, so the chain keeps arrival order.
    const depth = Math.max(1, this.#store.appendsInFlight ?? 1);
    const inflight: Promise<void>[] = [];
    while (this.#pending.length > 0 || inflight.length > 0) {
      if (this.#pending.length === 0 || inflight.length >= depth) {
        await inflight.shift();
        continue;
      }
      const batch: Pending[] = [];
      let size = 0;
      while (this.#pending.length > 0 && (batch.length === 0 || size + (this.#pending[0]?.events.length ?? 0) <= this.#batchSize)) {
        const next = this.#pending.shift() as Pending;
        batch.push(next);
        size += next.events.length;
      }
      inflight.push(this.#store1(batch, size));
    }
  }

  async #store1(batch: readonly Pending[], size: number): Promise<void> {
    let result: AppendResult;
    const decided = [];
    const owners: number[] = [];
    try {
      const context = this.#context();
      for (const [i, p] of batch.entries()) {
        for (const e of p.events) {
          decided.push(decide(e, p.receivedMs, context));
          owners.push(i);
        }
      }
      result = await this.#store.append(
        decided,
        batch.flatMap((p) => p.positions),
      );
    } catch (error) {
      this.#queued -= size;
      for (const p of batch) p.reject(error);
      return;
    }
    this.#queued -= size;
    if (result.stored.length === decided.length) {
      // Nothing was a duplicate: every event was stored, in the order given, so each submission's
      // share is its own run of the stored events (the common case, without a map of every id).
      let at = 0;
      for (const p of batch) {
        p.resolve({ stored: result.stored.slice(at, at + p.events.length), duplicates: 0 });
        at += p.events.length;
      }
      if (result.stored.length > 0) await this.#notify(result.stored);
      return;
    }
    // Each submission learns what of its own events was stored: the first occurrence of an id
    // stored now is its; any other occurrence was a duplicate.
    const unclaimed = new Map(result.stored.map((e) => [e.id, e]));
    const shares = batch.map(() => ({ stored: [] as TrailEvent[], duplicates: 0 }));
    decided.forEach((d, k) => {
      const share = shares[owners[k] as number] as { stored: TrailEvent[]; duplicates: number };
      const event = unclaimed.get(d.id);
      if (event === undefined) share.duplicates++;
      else {
        share.stored.push(event);
        unclaimed.delete(d.id);
      }
    });
    batch.forEach((p, i) => {
      p.resolve(shares[i] as AppendResult);
    });
    if (result.stored.length > 0) await this.#notify(result.stored);
  }

  /** Consumers see batches one at a time in seq order, even when two batches were stored at once. */
  #notify(events: readonly TrailEvent[]): Promise<void> {
    this.#notified = this.#notified.then(() => this.#notify1(events));
    return this.#notified;
  }

  async #notify1(events: readonly TrailEvent[]): Promise<void> {
    for (const consumer of this.#consumers) {
      try {
        await consumer(events);
      } catch (error) {
        this.#onConsumerError(error);
      }
    }
  }
}

