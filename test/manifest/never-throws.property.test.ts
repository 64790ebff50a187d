import fc from "fast-check";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import type { ValidationReport } from "../../src/manifest/validate.js";
import { VALID_MANIFEST } from "../helpers/manifests.js";
import { validateFiles } from "../helpers/validate-text.js";

const FILE = "agents/sample-agent/agent.yaml";

function expectWellFormed(report: ValidationReport): void {
  for (const d of report.diagnostics) {
    expect(d.line).toBeGreaterThanOrEqual(1);
    expect(d.column).toBeGreaterThanOrEqual(1);
    expect(d.endLine).toBeGreaterThanOrEqual(d.line);
    expect(d.rule).toMatch(/^[a-z]+\/[a-z-]+$/);
    expect(d.message.length).toBeGreaterThan(0);
  }
  expect(report.ok).toBe(!report.diagnostics.some((d) => d.severity === "error"));
}

// A run that takes longer than this is treated as a hang, not as slowness: it is a generous
// ceiling to catch runaway expansion, not a performance assertion.
const HANG = { timeout: 10_000, markInterruptAsFailure: true };

describe("validate never throws, hangs, or loses a position", () => {
  it("on arbitrary bytes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        expectWellFormed(await validateFiles({ [FILE]: bytes, "agents/sample-agent/prompts/system.md": bytes }));
      }),
      { numRuns: 300, ...HANG },
    );
  });

  it("on arbitrary YAML documents", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (value) => {
        expectWellFormed(await validateFiles({ [FILE]: stringify(value) }));
      }),
      { numRuns: 300, ...HANG },
    );
  });

  it("on the valid manifest with arbitrary text spliced in", async () => {
    const yamlish = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom("&a ", "*a", "<<: *a", "---\n", "? ", "!!str ", "!tag ", "[", "{", "- ", ": ", "\t", "\uFEFF", "__proto__: 1\n", "\"\\u0000\""),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: VALID_MANIFEST.length }), fc.array(yamlish, { maxLength: 4 }), async (at, parts) => {
        const text = VALID_MANIFEST.slice(0, at) + parts.join("") + VALID_MANIFEST.slice(at);
        expectWellFormed(await validateFiles({ [FILE]: text, "agents/sample-agent/prompts/system.md": "ok\n" }));
      }),
      { numRuns: 500, ...HANG },
    );
  });

  it("on arbitrary JSON-shaped manifests built from the schema's own keys", async () => {
    const manifestLike = fc.record(
      {
        apiVersion: fc.constantFrom("charter/v1", "charter/v2", 1),
        kind: fc.constantFrom("Agent", "agent"),
        id: fc.oneof(fc.constant("sample-agent"), fc.string()),
        owners: fc.array(fc.record({ user: fc.string(), team: fc.string() }, { requiredKeys: [] })),
        model: fc.record({ provider: fc.string(), name: fc.string(), version: fc.oneof(fc.string(), fc.integer()) }, { requiredKeys: [] }),
        prompts: fc.array(fc.record({ path: fc.oneof(fc.string(), fc.constantFrom("../x", "/etc/passwd", "a//b", "prompts/system.md")) })),
        tools: fc.array(fc.record({ name: fc.string(), permissions: fc.array(fc.string()) })),
        credentials: fc.record({ provider: fc.constantFrom("local", "postgres", "vault"), maxLifetime: fc.string() }, { requiredKeys: [] }),
        status: fc.constantFrom("active", "retired", "x"),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(manifestLike, async (value) => {
        expectWellFormed(await validateFiles({ [FILE]: stringify(value), "agents/sample-agent/prompts/system.md": "ok\n" }));
      }),
      { numRuns: 300, ...HANG },
    );
  });
});
