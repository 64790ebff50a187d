import { describe, expect, it } from "vitest";
import { LocalClock, withinAllowedHours } from "../../src/trail/local-time.js";

const clock = new LocalClock();
const at = (iso: string, tz: string) => clock.at(Date.parse(iso), tz);

describe("local time in the allowedHours zone", () => {
  it("follows daylight saving time: Berlin is UTC+1 in winter, UTC+2 after the last Sunday of March", () => {
    expect(at("2026-03-29T00:59:00Z", "Europe/Berlin")).toEqual({ day: "sun", hour: 1, minute: 119 });
    // 01:00 UTC is the switch: local time jumps from 02:00 to 03:00.
    expect(at("2026-03-29T01:00:00Z", "Europe/Berlin")).toEqual({ day: "sun", hour: 3, minute: 180 });
    expect(at("2026-10-25T00:30:00Z", "Europe/Berlin")?.hour).toBe(2);
    expect(at("2026-10-25T01:30:00Z", "Europe/Berlin")?.hour).toBe(2);
  });

  it("handles zones with quarter-hour offsets and the date line", () => {
    expect(at("2026-06-01T00:00:00Z", "Asia/Kathmandu")).toEqual({ day: "mon", hour: 5, minute: 345 });
    expect(at("2026-06-01T00:00:00Z", "Pacific/Kiritimati")).toEqual({ day: "mon", hour: 14, minute: 840 });
    // Newfoundland daylight time is UTC-2:30.
    expect(at("2026-06-01T00:00:00Z", "America/St_Johns")).toEqual({ day: "sun", hour: 21, minute: 1290 });
  });

  it("matches Intl for every quarter hour of a year in a DST zone (the cache is not a shortcut that drifts)", () => {
    const fmt = new Intl.DateTimeFormat("en-US", { timeZone: "America/New_York", hourCycle: "h23", hour: "numeric", minute: "numeric", weekday: "short" });
    const start = Date.parse("2026-01-01T00:07:00Z");
    for (let ms = start; ms < start + 365 * 86_400_000; ms += 97 * 60_000 + 61_000) {
      const parts = fmt.formatToParts(new Date(ms));
      const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
      const local = clock.at(ms, "America/New_York");
      expect(local?.hour).toBe(Number(get("hour")));
      expect(local?.minute).toBe(Number(get("hour")) * 60 + Number(get("minute")));
      expect(local?.day).toBe(get("weekday").toLowerCase().slice(0, 3));
    }
  });

  it("has no local time for a zone the runtime does not know", () => {
    expect(at("2026-06-01T00:00:00Z", "Mars/Olympus_Mons")).toBeNull();
  });
});

describe("within allowed hours", () => {
  const office = { timezone: "UTC", days: ["mon", "tue", "wed", "thu", "fri"] as const, start: "08:00", end: "18:00" };
  it("is inclusive of the start and exclusive of the end, on listed days only", () => {
    expect(withinAllowedHours({ day: "mon", hour: 8, minute: 480 }, { ...office, days: [...office.days] })).toBe(true);
    expect(withinAllowedHours({ day: "mon", hour: 7, minute: 479 }, { ...office, days: [...office.days] })).toBe(false);
    expect(withinAllowedHours({ day: "mon", hour: 18, minute: 1080 }, { ...office, days: [...office.days] })).toBe(false);
    expect(withinAllowedHours({ day: "sat", hour: 12, minute: 720 }, { ...office, days: [...office.days] })).toBe(false);
  });

  it("reads an end before the start as a night shift belonging to the day it began", () => {
    const night = { timezone: "UTC", days: ["fri" as const], start: "22:00", end: "06:00" };
    expect(withinAllowedHours({ day: "fri", hour: 23, minute: 1380 }, night)).toBe(true);
    expect(withinAllowedHours({ day: "sat", hour: 5, minute: 300 }, night)).toBe(true);
    expect(withinAllowedHours({ day: "fri", hour: 5, minute: 300 }, night)).toBe(false);
    expect(withinAllowedHours({ day: "sat", hour: 22, minute: 1320 }, night)).toBe(false);
  });
});
