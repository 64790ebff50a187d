import type { Weekday } from "./event.js";

/** runtime.allowedHours of a manifest, as the schema defines it. */
export interface AllowedHours {
  /** IANA time zone. */
  readonly timezone: string;
  readonly days: readonly Weekday[];
  /** "HH:MM", local. */
  readonly start: string;
  readonly end: string;
}

export interface LocalTime {
  readonly day: Weekday;
  readonly hour: number;
  /** Minutes since local midnight. */
  readonly minute: number;
}

const WEEKDAYS: readonly Weekday[] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const QUARTER_MS = 15 * 60_000;
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * Local wall-clock time in IANA zones, DST included, fast enough for every ingested event.
 * Asking Intl for every event costs microseconds; instead the zone's UTC offset is looked up once
 * per quarter hour of UTC and kept. Every offset in use since 1970 is a multiple of 15 minutes
 * and every transition falls on a quarter hour, so one offset holds for a whole quarter.
 */
export class LocalClock {
  readonly #formatters = new Map<string, Intl.DateTimeFormat | null>();
  readonly #offsets = new Map<string, number>();
  /** Per zone: the offset of each UTC day that has one all day, NaN for a day with a transition. */
  readonly #days = new Map<string, Map<number, number>>();
  readonly #maxCached: number;

  constructor(maxCached = 500_000) {
    this.#maxCached = maxCached;
  }

  /** The local time at `ms` in `timezone`, or null when the zone is not one the runtime knows. */
  at(ms: number, timezone: string): LocalTime | null {
    const offset = this.offsetMinutes(ms, timezone);
    if (offset === null) return null;
    const local = ms + offset * MINUTE_MS;
    const days = Math.floor(local / DAY_MS);
    const minute = Math.floor((local - days * DAY_MS) / MINUTE_MS);
    // 1970-01-01 was a Thursday.
    return { day: WEEKDAYS[(((days + 4) % 7) + 7) % 7] as Weekday, hour: Math.floor(minute / 60), minute };
  }

  /**
   * Minutes to add to UTC to get local time at `ms`. A zone changes its offset on a handful of
   * days a year: when the offsets at the start and the end of a UTC day agree, the day has no
   * transition and that offset holds all day (two lookups per day); otherwise each quarter hour
   * of that day is looked up.
   */
  offsetMinutes(ms: number, timezone: string): number | null {
    const day = Math.floor(ms / DAY_MS);
    // Per zone, by day number: no key is built per event (ingest asks for every event).
    let days = this.#days.get(timezone);
    if (days === undefined) this.#days.set(timezone, (days = new Map<number, number>()));
    let whole = days.get(day);
    if (whole === undefined) {
      const start = this.#quarterOffset(day * (DAY_MS / QUARTER_MS), timezone);
      const end = this.#quarterOffset((day + 1) * (DAY_MS / QUARTER_MS) - 1, timezone);
      if (start === null || end === null) return null;
      whole = start === end ? start : NaN;
      if (days.size >= this.#maxCached) days.clear();
      days.set(day, whole);
    }
    if (!Number.isNaN(whole)) return whole;
    return this.#quarterOffset(Math.floor(ms / QUARTER_MS), timezone);
  }

  #remember(key: string, value: number): void {
    if (this.#offsets.size >= this.#maxCached) this.#offsets.clear();
    this.#offsets.set(key, value);
  }

  #quarterOffset(quarter: number, timezone: string): number | null {
    const key = `${timezone}\n${quarter}`;
    const cached = this.#offsets.get(key);
    if (cached !== undefined) return cached;
    const formatter = this.#formatter(timezone);
    if (formatter === null) return null;
    const parts = formatter.formatToParts(new Date(quarter * QUARTER_MS));
    const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? "0");
    const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
    const offset = Math.round((wall - quarter * QUARTER_MS) / MINUTE_MS);
    this.#remember(key, offset);
    return offset;
  }

  #formatter(timezone: string): Intl.DateTimeFormat | null {
    let formatter = this.#formatters.get(timezone);
    if (formatter === undefined) {
      try {
        formatter = new Intl.DateTimeFormat("en-US", {
          timeZone: timezone,
          hourCycle: "h23",
          year: "numeric",
          month: "numeric",
          day: "numeric",
          hour: "numeric",
          minute: "numeric",
          second: "numeric",
        });
      } catch {
        // The manifest schema checks the zone's shape, not that it exists: an unknown zone has no local time.
        formatter = null;
      }
      this.#formatters.set(timezone, formatter);
    }
    return formatter;
  }
}

// A manifest's allowed hours are read for every event of its agent: parse their times once.
const spans = new WeakMap<AllowedHours, { start: number; end: number }>();

function minutesOf(hhmm: string): number {
  const [h = "0", m = "0"] = hhmm.split(":");
  return Number(h) * 60 + Number(m);
}

/**
 * Whether a local time is within allowed hours: on a listed day, from start (inclusive) to end
 * (exclusive). An end before the start is a shift past midnight, which belongs to the day it
 * started on; start equal to end is the whole day.
 */
export function withinAllowedHours(local: LocalTime, hours: AllowedHours): boolean {
  let span = spans.get(hours);
  if (span === undefined) spans.set(hours, (span = { start: minutesOf(hours.start), end: minutesOf(hours.end) }));
  const { start, end } = span;
  const today = hours.days.includes(local.day);
  if (start === end) return today;
  if (start < end) return today && local.minute >= start && local.minute < end;
  const yesterday = WEEKDAYS[(WEEKDAYS.indexOf(local.day) + 6) % 7] as Weekday;
  return (today && local.minute >= start) || (hours.days.includes(yesterday) && local.minute < end);
}
