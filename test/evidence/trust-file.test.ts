import { describe, expect, it } from "vitest";
import { parseTrustFile, rememberLog } from "../../src/evidence/trust-file.js";
import { CharterError } from "../../src/errors.js";

const ROOT = Buffer.alloc(32, 1);
const OTHER = Buffer.alloc(32, 2);

describe("the auditor's trust file", () => {
  it("adds a key once and replaces the tree, keeping every other line", () => {
    const first = rememberLog("", "log.example/a", { key: { key: "a+00000000+K", since: "2026-01-01T00:00:00.000Z" }, tree: { size: 4, root: ROOT } });
    expect(first).toMatch(/^# charter verify's known evidence logs/);
    const withB = rememberLog(first, "log.example/b", { key: { key: "b+11111111+K", since: "t" } });
    const later = rememberLog(withB, "log.example/a", { key: { key: "a+22222222+NEW", since: "t2" }, tree: { size: 9, root: OTHER } });
    const logs = parseTrustFile(later, "known-logs");
    expect(logs.get("log.example/a")).toMatchObject({ key: { key: "a+00000000+K", since: "2026-01-01T00:00:00.000Z" }, tree: { size: 9 } });
    expect(logs.get("log.example/b")?.key?.key).toBe("b+11111111+K");
    expect(later.split("\n").filter((l) => l.startsWith("tree\t"))).toHaveLength(1);
  });

  it("cannot be turned into comments by an origin that starts with #", () => {
    const text = rememberLog("", "# not a comment", { key: { key: "k", since: "t" } });
    expect(parseTrustFile(text, "f").get("# not a comment")?.key?.key).toBe("k");
  });

  it.each([
    ["an unknown kind", "nonsense\tlog\tx\ty\n", "f:1: unknown kind"],
    ["a second key line", "key\tlog\ta\tt\nkey\tlog\tb\tt\n", "f:2: a second key line for log (the first is line 1)"],
    ["a bad tree", "tree\tlog\t01\tAAAA\n", "f:1: a tree line needs a size"],
    ["extra fields", "key\tlog\ta\tt\textra\n", "f:1: not a key or tree line"],
  ])("names the file and line of %s", (_label, text, message) => {
    expect(() => parseTrustFile(text, "f")).toThrow(CharterError);
    expect(() => parseTrustFile(text, "f")).toThrow(message);
  });
});
