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
    const { chained } = chainEvents(EMPTY_TIP, [d]);
    const first = chained[0];
    if (first === undefined) throw new Error("nothing chained");
    expect(eventFromBytes(first.bytes, first.event.hash)).toEqual(first.event);
  });

  it("chains each event to the previous one with the RFC 6962 leaf hash of (previous hash ‖ bytes)", () => {
    const ctx = context();
    const decided = [sourceEvent(), sourceEvent({ action: "update" })].map((e) => decide(e, Date.parse("2026-03-03T14:00:01Z"), ctx));
    const { chained: [a, b], tip } = chainEvents(EMPTY_TIP, decided);
    if (a === undefined || b === undefined) throw new Error("nothing chained");
    const expectFirst = createHash("sha256").update(Buffer.concat([Buffer.of(0), Buffer.from(GENESIS_HASH, "hex"), a.bytes])).digest("hex");
    expect(a.event.hash).toBe(expectFirst);
    expect(b.event.hash).toBe(Buffer.from(leafHash(Buffer.concat([Buffer.from(expectFirst, "hex"), b.bytes]))).toString("hex"));
    expect([a.event.seq, b.event.seq]).toEqual([1, 2]);
    expect(tip).toEqual({ seq: 2, hash: b.event.hash });
    expect(chainHash(GENESIS_HASH, a.bytes)).toBe(expectFirst);
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
