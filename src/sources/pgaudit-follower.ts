import { open, readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import type { SourceEvent } from "../trail/event.js";
import { fileKeyOf, type PgLineResult, type PgLogLine, parsePgLogLine } from "./pgaudit.js";
import { parseSquidLogLine } from "./squid-access-log.js";
import type { TrailIngestor } from "./trail-ingestor.js";
import type { SourceGap, SourcePosition, TrailStore } from "./trail-store.js";

/**
 * Follows one PostgreSQL instance's JSON log files as the server writes and rotates them, and
 * feeds each complete line to ingest exactly once:
 *
 *  - the position (which file, by the hash of its first line, and the byte offset after the
 *    last complete line read) is saved in the same transaction as the events read before it,
 *    so a restart resumes where the last commit left off: nothing twice, nothing skipped;
 *  - a line still being written (no newline yet) is left for the next read; one that never
 *    completes before the next file starts is reported and passed;
 *  - rotation: files are read in name order (PostgreSQL names them by time, e.g.
 *    postgresql-2026-03-03_140000.json), the current one to its end before the next;
 *    a single file renamed on rotation (rotatedPath) is found by its first line and finished;
 *  - truncation or removal of a file before it was read to its end is a gap: reported on the
 *    source's status and, for this attested source, in the evidence.
 */
export interface FollowerOptions {
  readonly instance: string;
  /** The trail source the lines are, and how one line becomes an event. Default: pgaudit's JSON log. */
  readonly source?: "pgaudit" | "squid";
  readonly parse?: (line: PgLogLine, instance: string) => PgLineResult;
  /**
   * With a single file: the name the server renames it to when it rotates (squid's
   * access.log → access.log.0). The renamed file is read to its end before the new one.
   */
  readonly rotatedPath?: string;
  /** A log file, or a directory of them (with `pattern`). */
  readonly path: string;
  /** File names to follow in a directory; default PostgreSQL's jsonlog names. */
  readonly pattern?: RegExp;
  /** Bytes read per step at most. Default 4 MiB. */
  readonly chunkBytes?: number;
  /** How long a torn last line may stay incomplete once a newer file has started, in ms. Default 10 s. */
  readonly tornPatienceMs?: number;
  readonly now?: () => number;
  /**
   * false for a backfill of one file: it reads from the file's start and leaves the live
   * follower's saved position alone (event ids still make each line count once between them).
   */
  readonly savePosition?: boolean;
}

interface Position {
  readonly file: string;
  readonly key: string;
  readonly offset: number;
  /** The file's size when last read, to tell a truncation that lost lines from a clean rotation. */
  readonly size: number;
}

export interface StepResult {
  readonly events: number;
  readonly lines: number;
  /** Whether more is waiting (call step again at once). */
  readonly more: boolean;
}

const DEFAULT_PATTERN = /\.json$/;

export class PgauditFollower {
  readonly #store: TrailStore;
  readonly #ingestor: TrailIngestor;
  readonly #options: FollowerOptions;
  #position: Position | null | undefined;
  /** Since when the current file has ended in an incomplete line while a newer file exists. */
  #tornSince: number | null = null;

  constructor(store: TrailStore, ingestor: TrailIngestor, options: FollowerOptions) {
    this.#store = store;
    this.#ingestor = ingestor;
    this.#options = options;
  }

  /** The instance it follows, as the permission vocabulary names it. */
  get instance(): string {
    return this.#options.instance;
  }

  get source(): "pgaudit" | "squid" {
    return this.#options.source ?? "pgaudit";
  }

  /** Reads what is new, up to one chunk; resolves once its events (and the new position) are stored. */
  async step(): Promise<StepResult> {
    if (this.#position === undefined) {
      const saved = this.#options.savePosition === false ? null : await this.#store.position(this.source, this.#options.instance);
      this.#position = saved === null ? null : (JSON.parse(saved) as Position);
    }
    const files = await this.#files();
    const position = this.#position;
    const nextAfter = (file: string): { path: string; size: number } | undefined => {
      const at = files.findIndex((f) => f.path === file);
      return at === -1 ? files.find((f) => f.path > file) : files[at + 1];
    };
    let target: { path: string; key: string; offset: number; newer: boolean } | null = null;
    if (position === null) {
      const first = files[0];
      const key = first === undefined ? null : await firstLineKey(first.path);
      if (first !== undefined && key !== null) target = { path: first.path, key, offset: 0, newer: files.length > 1 };
    } else {
      const current = files.find((f) => f.path === position.file);
      const key = current === undefined ? null : await firstLineKey(current.path);
      if (current !== undefined && key === position.key && current.size >= position.offset) {
        if (current.size > position.offset) target = { path: current.path, key, offset: position.offset, newer: nextAfter(current.path) !== undefined };
        else {
          const next = nextAfter(position.file);
          const nextKey = next === undefined ? null : await firstLineKey(next.path);
          if (next !== undefined && nextKey !== null) target = { path: next.path, key: nextKey, offset: 0, newer: nextAfter(next.path) !== undefined };
        }
      } else if (this.#options.rotatedPath !== undefined && position.file !== this.#options.rotatedPath && (await this.#renamed(files, position))) {
        // Rotated by renaming: the file read so far is the rotated one now; finish it there.
        const moved = this.#options.rotatedPath;
        this.#position = { ...position, file: moved };
        return this.step();
      } else {
        // The file we were reading is gone, or was truncated (and maybe rewritten) in place.
        if (position.offset < position.size) {
          await this.#gap("gap", `${basename(position.file)} was truncated or removed after ${position.offset} of ${position.size} bytes were read: the lines after that were lost`);
        }
        if (current !== undefined && key !== null && key !== position.key) target = { path: current.path, key, offset: 0, newer: nextAfter(current.path) !== undefined };
        else {
          const next = nextAfter(position.file);
          const nextKey = next === undefined ? null : await firstLineKey(next.path);
          if (next !== undefined && nextKey !== null) target = { path: next.path, key: nextKey, offset: 0, newer: nextAfter(next.path) !== undefined };
          // Nothing to read yet: remember that the old file is done with, so its loss is reported once.
          else if (current === undefined || key !== position.key) this.#position = { ...position, size: position.offset };
        }
      }
    }
    if (target === null) return { events: 0, lines: 0, more: false };

    const handle = await open(target.path, "r");
    let buffer: Buffer;
    let size: number;
    try {
      size = (await handle.stat()).size;
      const length = Math.min(this.#options.chunkBytes ?? 4 * 1024 * 1024, Math.max(0, size - target.offset));
      buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, target.offset);
      buffer = buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
    const last = buffer.lastIndexOf(0x0a);
    if (last === -1) {
      // Only a torn line so far: the next step reads it again once it is complete. When a newer
      // file has started and the line still is not finished after a few steps, it never will be.
      const now = (this.#options.now ?? Date.now)();
      if (!target.newer) return { events: 0, lines: 0, more: false };
      this.#tornSince ??= now;
      if (now - this.#tornSince < (this.#options.tornPatienceMs ?? 10_000)) return { events: 0, lines: 0, more: false };
      this.#tornSince = null;
      await this.#gap("gap", `${basename(target.path)} ends in a line torn at byte ${target.offset} that was never finished`);
      const passed: Position = { file: target.path, key: target.key, offset: size, size };
      await this.#ingestor.submit([], this.#positions(passed));
      this.#position = passed;
      return { events: 0, lines: 0, more: true };
    }
    this.#tornSince = null;
    const events: SourceEvent[] = [];
    let lines = 0;
    let start = 0;
    const malformed: string[] = [];
    while (start <= last) {
      const end = buffer.indexOf(0x0a, start);
      const offset = target.offset + start;
      const text = buffer.subarray(start, end).toString("utf8");
      start = end + 1;
      if (text.trim() === "") continue;
      lines++;
      const result = (this.#options.parse ?? parsePgLogLine)({ fileKey: target.key, offset, text }, this.#options.instance);
      if (result.kind === "event") events.push(result.event);
      else if (result.kind === "malformed") malformed.push(`${basename(target.path)} byte ${offset}: ${result.reason}`);
    }
    const reached: Position = { file: target.path, key: target.key, offset: target.offset + last + 1, size };
    await this.#ingestor.submit(events, this.#positions(reached));
    this.#position = reached;
    for (const m of malformed.slice(0, 10)) await this.#gap("gap", `unreadable log line: ${m}`);
    return { events: events.length, lines, more: reached.offset < size || (target.newer && reached.offset === size) };
  }

  /** Steps until nothing more is waiting. */
  async catchUp(): Promise<number> {
    let events = 0;
    for (;;) {
      const r = await this.step();
      events += r.events;
      if (!r.more) return events;
    }
  }

  #positions(position: Position): SourcePosition[] {
    return this.#options.savePosition === false ? [] : [{ source: this.source, instance: this.#options.instance, position: JSON.stringify(position) }];
  }

  async #gap(kind: SourceGap["kind"], detail: string): Promise<void> {
    await this.#store.recordGap({ source: this.source, instance: this.#options.instance, kind, detectedMs: Date.now(), detail });
  }

  /** Whether the rotated file is the one the position was read from (same first line, at least as long). */
  async #renamed(files: readonly { path: string; size: number }[], position: Position): Promise<boolean> {
    const rotated = files.find((f) => f.path === this.#options.rotatedPath);
    return rotated !== undefined && rotated.size >= position.offset && (await firstLineKey(rotated.path)) === position.key;
  }

  async #files(): Promise<{ path: string; size: number }[]> {
    const rotated = this.#options.rotatedPath === undefined ? null : await stat(this.#options.rotatedPath).catch(() => null);
    const older = rotated?.isFile() === true && this.#options.rotatedPath !== undefined ? [{ path: this.#options.rotatedPath, size: rotated.size }] : [];
    const info = await stat(this.#options.path).catch(() => null);
    if (info === null) return older;
    if (info.isFile()) return [...older, { path: this.#options.path, size: info.size }];
    const pattern = this.#options.pattern ?? DEFAULT_PATTERN;
    const names = (await readdir(this.#options.path)).filter((n) => pattern.test(n)).sort();
    const out: { path: string; size: number }[] = [];
    for (const name of names) {
      const s = await stat(join(this.#options.path, name)).catch(() => null);
      if (s?.isFile()) out.push({ path: join(this.#options.path, name), size: s.size });
    }
    return out;
  }
}

/** The file key from the file's first complete line; null while there is none. */
async function firstLineKey(path: string): Promise<string | null> {
  const handle = await open(path, "r").catch(() => null);
  if (handle === null) return null;
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const end = buffer.subarray(0, bytesRead).indexOf(0x0a);
    return end === -1 ? null : fileKeyOf(buffer.subarray(0, end).toString("utf8"));
  } finally {
    await handle.close();
  }
}


/** A follower of squid's access log: the file squid writes, and the name squid's own rotation (logfile_rotate) gives it. */
export function squidFollower(store: TrailStore, ingestor: TrailIngestor, instance: string, path: string, options: { readonly savePosition?: boolean } = {}): PgauditFollower {
  return new PgauditFollower(store, ingestor, { instance, path, source: "squid", parse: parseSquidLogLine, rotatedPath: `${path}.0`, ...options });
}
