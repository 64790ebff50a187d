import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/manifest/limits.js";
import { agentFiles, lineOf, mutate, VALID_MANIFEST } from "../helpers/manifests.js";
import { validateFiles } from "../helpers/validate-text.js";

const FILE = "agents/sample-agent/agent.yaml";

async function diagnosticsFor(manifest: string | Uint8Array) {
  const files: Record<string, string | Uint8Array> = { ...agentFiles("sample-agent", "") };
  files[FILE] = manifest;
  return (await validateFiles(files)).diagnostics;
}

describe("hostile manifests", () => {
  it("accepts the valid fixture", async () => {
    expect(await diagnosticsFor(VALID_MANIFEST)).toEqual([]);
  });

  it("refuses a file over the size limit without parsing it", async () => {
    const big = VALID_MANIFEST + `contact: "${"x".repeat(DEFAULT_LIMITS.maxManifestBytes)}"\n`;
    const [d, ...rest] = await diagnosticsFor(big);
    expect(rest).toEqual([]);
    expect(d).toMatchObject({ rule: "file/too-large", line: 1, column: 1 });
    expect(d?.message).toContain(String(DEFAULT_LIMITS.maxManifestBytes));
  });

  it("stops a billion-laughs alias expansion", async () => {
    const laughs = [
      `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`,
      `b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]`,
      `c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]`,
      `d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]`,
      `e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]`,
      `f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]`,
      `g: [*f,*f,*f,*f,*f,*f,*f,*f,*f]`,
    ].join("\n");
    const diags = await diagnosticsFor(laughs + "\n");
    expect(diags).toHaveLength(1);
    expect(["yaml/alias-limit", "yaml/too-many-nodes"]).toContain(diags[0]?.rule);
    expect(diags[0]?.line).toBeGreaterThanOrEqual(1);
  });

  it("bounds nesting depth", async () => {
    const depth = DEFAULT_LIMITS.maxDepth + 5;
    const deep = "contact: " + "[".repeat(depth) + "]".repeat(depth) + "\n";
    const diags = await diagnosticsFor(deep);
    expect(diags.map((d) => d.rule)).toEqual(["yaml/too-deep"]);
    expect(diags[0]).toMatchObject({ line: 1 });
  });

  it("survives nesting far beyond any stack", async () => {
    const depth = 50_000;
    const diags = await diagnosticsFor("[".repeat(depth) + "]".repeat(depth));
    expect(diags.length).toBeGreaterThan(0);
    expect(diags.every((d) => d.line >= 1 && d.column >= 1)).toBe(true);
  });

  it("refuses several documents in one file", async () => {
    const text = VALID_MANIFEST + "---\n" + VALID_MANIFEST;
    const diags = await diagnosticsFor(text);
    expect(diags[0]).toMatchObject({ rule: "yaml/multiple-documents", line: lineOf(text, "---").line });
  });

  it("reports a duplicate key at the second occurrence", async () => {
    const text = mutate(VALID_MANIFEST, "status: active\n", "status: active\nstatus: retired\n");
    const diags = await diagnosticsFor(text);
    expect(diags).toEqual([expect.objectContaining({ rule: "yaml/duplicate-key", line: lineOf(text, "status: retired").line, column: 1 })]);
  });

  it.each(["__proto__", "constructor", "prototype"])("refuses the %s key without polluting anything", async (key) => {
    const text = mutate(VALID_MANIFEST, "model:\n", `model:\n  ${key}:\n    polluted: true\n`);
    const diags = await diagnosticsFor(text);
    expect(diags).toEqual([expect.objectContaining({ rule: "yaml/forbidden-key", line: lineOf(text, key).line, column: 3 })]);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });

  it("refuses keys that are not plain scalars", async () => {
    const text = VALID_MANIFEST + "? [a, b]\n: 1\n";
    const diags = await diagnosticsFor(text);
    expect(diags).toEqual([expect.objectContaining({ rule: "yaml/key-not-string", line: lineOf(text, "? [a, b]").line })]);
  });

  it("refuses custom tags", async () => {
    const text = mutate(VALID_MANIFEST, "name: Sample Agent", "name: !!js/function Sample");
    const diags = await diagnosticsFor(text);
    expect(diags[0]).toMatchObject({ rule: "yaml/unsupported-tag", line: lineOf(text, "name:").line });
  });

  it("accepts a UTF-8 byte order mark and keeps positions right", async () => {
    const text = "\uFEFF" + mutate(VALID_MANIFEST, "environment: production", "environment: prod");
    const diags = await diagnosticsFor(new TextEncoder().encode(text));
    expect(diags).toEqual([expect.objectContaining({ rule: "schema/enum", line: lineOf(text, "environment").line, column: 14 })]);
  });

  it("refuses UTF-16", async () => {
    const bytes = new Uint8Array([0xff, 0xfe, 0x61, 0x00]);
    expect((await diagnosticsFor(bytes)).map((d) => d.rule)).toEqual(["file/encoding"]);
  });

  it("points at the first invalid UTF-8 byte", async () => {
    const head = new TextEncoder().encode("apiVersion: charter/v1\nname: ab");
    const bytes = new Uint8Array([...head, 0xc3, 0x28, 0x0a]);
    const diags = await diagnosticsFor(bytes);
    expect(diags).toEqual([expect.objectContaining({ rule: "file/encoding", line: 2, column: 9 })]);
    expect(diags[0]?.message).toContain("0xc3");
  });

  it("refuses control characters with their position", async () => {
    const text = mutate(VALID_MANIFEST, "Sample Agent", "Sample\u0000Agent");
    const diags = await diagnosticsFor(text);
    expect(diags).toEqual([expect.objectContaining({ rule: "file/control-character", line: lineOf(text, "name:").line, column: 13 })]);
  });

  it("refuses bidirectional overrides that hide text from reviewers", async () => {
    const text = mutate(VALID_MANIFEST, "Answers questions", "Answers \u202Equestions");
    const diags = await diagnosticsFor(text);
    expect(diags[0]).toMatchObject({ rule: "text/hidden-characters", line: lineOf(text, "purpose").line });
  });

  it("reports a YAML syntax error with its position", async () => {
    const text = mutate(VALID_MANIFEST, "kind: Agent", "kind: [Agent");
    const diags = await diagnosticsFor(text);
    expect(diags.length).toBeGreaterThan(0);
    expect(diags[0]?.rule).toBe("yaml/syntax");
    expect(diags[0]?.line).toBeGreaterThanOrEqual(lineOf(text, "kind").line);
  });

  it("reports an empty file as missing every required key", async () => {
    const diags = await diagnosticsFor("");
    expect(diags[0]).toMatchObject({ rule: "schema/type", line: 1, column: 1 });
  });
});
