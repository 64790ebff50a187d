import fc from "fast-check";
import canonicalize from "canonicalize";
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { chainEvents, EMPTY_TIP } from "../../src/trail/chain.js";
import { decide } from "../../src/trail/decide.js";
import { chainHash, eventBytes, eventFromBytes, eventId, eventText, GENESIS_HASH } from "../../src/trail/event-bytes.js";
import type { TrailEvent } from "../../src/trail/event.js";
import { leafHash } from "../../src/evidence/merkle.js";
import { context, sourceEvent } from "./trail-fixture.js";

const canonical = canonicalize as unknown as (value: unknown) => string;

function withoutNulls(event: Omit<TrailEvent, "hash">): Record<string, unknown> {
  return Object.fromEntries(Object.entries(event).filter(([, v]) => v !== null));
}

describe("the stored bytes of a trail event", () => {
  it("are RFC 8785 canonical JSON of the event without nulls, for any strings a source can send", () => {
    // The reference is the canonicalize package (which passes RFC 8785's vectors), not this code.
    const text = fc.string({ unit: "binary", maxLength: 40 });
    fc.assert(
      fc.property(text, text, text, fc.dictionary(text, text, { maxKeys: 5 }), fc.option(fc.integer({ min: 0, max: 2 ** 40 })), (principal, resource, key, detail, tokens) => {
        const d = decide(sourceEvent({ principal, resource, sourceKey: key, detail, inputTokens: tokens }), Date.parse("2026-03-03T14:00:01Z"), context());
        const event = { ...d, seq: 42 };
        expect(eventText(event)).toBe(canonical(withoutNulls(event)));
      }),
      { numRuns: 300 },
    );
  });

  it("round-trip: the bytes and the hash give back the event, nulls restored", () => {
    const d = decide(sourceEvent(), Date.parse("2026-03-03T14:00:01Z"), context());
    const run = chainEvents(EMPTY_TIP, [d]);
    const first = run.events[0];
    if (first === undefined) throw new Error("nothing chained");
    expect(run.lines.at(-1)).toBe(0x0a);
    expect(eventFromBytes(run.lines.subarray(0, -1), first.hash)).toEqual(first);
    expect(run.hashes.toString("hex")).toBe(first.hash);
  });

  it("stores and hashes the UTF-8 bytes of events of every size, however many the batch holds", () => {
    const ctx = context();
    // Multi-byte characters (two, three and four bytes in UTF-8) and events far longer than the
    // buffers ingest starts with, mixed with short ones, in one batch.
    const details = ["plain", "ünïcødé ☃ 𝄞", "€".repeat(3000), "x".repeat(20_000), "😀".repeat(5000), "end"];
    const decided = details.map((statement) => decide(sourceEvent({ detail: { statement } }), Date.parse("2026-03-03T14:00:01Z"), ctx));
    const run = chainEvents(EMPTY_TIP, decided);
    let previous = Buffer.from(GENESIS_HASH, "hex");
    let start = 0;
    run.events.forEach((e, i) => {
      const bytes = Buffer.from(eventText(e), "utf8");
      const expected = createHash("sha256").update(Buffer.concat([Buffer.of(0), previous, bytes])).digest();
      expect(e.hash).toBe(expected.toString("hex"));
      expect(run.hashes.subarray(32 * i, 32 * i + 32).equals(expected)).toBe(true);
      expect(run.lines.subarray(start, (run.ends[i] ?? 0) - 1).equals(bytes)).toBe(true);
      expect(run.lines[(run.ends[i] ?? 0) - 1]).toBe(0x0a);
      expect(eventFromBytes(bytes, e.hash).detail).toEqual({ statement: details[i] });
      start = run.ends[i] ?? 0;
      previous = expected;
    });
    expect(start).toBe(run.lines.length);
  });

  it("chains each event to the previous one with the RFC 6962 leaf hash of (previous hash ‖ bytes)", () => {
    const ctx = context();
    const decided = [sourceEvent(), sourceEvent({ action: "update" })].map((e) => decide(e, Date.parse("2026-03-03T14:00:01Z"), ctx));
    const run = chainEvents(EMPTY_TIP, decided);
    const [a, b] = run.events;
    if (a === undefined || b === undefined) throw new Error("nothing chained");
    // The stored lines are the canonical texts, one per line, in chain order.
    const [aText, bText, rest] = run.lines.toString("utf8").split("\n");
    expect([aText, bText, rest]).toEqual([eventText(a), eventText(b), ""]);
    expect(run.ends).toEqual([Buffer.byteLength(`${aText ?? ""}\n`), run.lines.length]);
    const aBytes = Buffer.from(aText ?? "", "utf8");
    const bBytes = Buffer.from(bText ?? "", "utf8");
    const expectFirst = createHash("sha256").update(Buffer.concat([Buffer.of(0), Buffer.from(GENESIS_HASH, "hex"), aBytes])).digest("hex");
    expect(a.hash).toBe(expectFirst);
    expect(b.hash).toBe(Buffer.from(leafHash(Buffer.concat([Buffer.from(expectFirst, "hex"), bBytes]))).toString("hex"));
    expect(run.hashes.toString("hex")).toBe(a.hash + b.hash);
    expect([a.seq, b.seq]).toEqual([1, 2]);
    expect(run.tip).toEqual({ seq: 2, hash: b.hash });
    expect(chainHash(GENESIS_HASH, aBytes)).toBe(expectFirst);
  });

  it("gives the same id to the same (source, instance, key) and different ids when the parts shift", () => {
    expect(eventId("pgaudit", "crm-prod", "f:10")).toBe(eventId("pgaudit", "crm-prod", "f:10"));
    // Concatenation alone would make these equal.
    expect(eventId("pgaudit", "crm-prod", "f:10")).not.toBe(eventId("pgaudit", "crm-pro", "df:10"));
    expect(eventId("pgaudit", "crm-prod", "f:10")).toMatch(/^[0-9a-f]{32}$/);
  });

  it("refuses numbers that are not whole (canonical forms of fractions differ between writers)", () => {
    const d = decide(sourceEvent({ inputTokens: 1.5 }), Date.parse("2026-03-03T14:00:01Z"), context());
    expect(() => eventBytes({ ...d, seq: 1 })).toThrow(TypeError);
  });
});
