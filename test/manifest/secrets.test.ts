import { describe, expect, it } from "vitest";
import { scanForSecrets } from "../../src/manifest/secrets.js";

// Synthetic values in each vendor's documented shape; none is a real credential.
const SAMPLES: readonly [string, string][] = [
  ["private key", "-----BEGIN RSA PRIVATE KEY-----"],
  ["AWS access key ID", "AKIAIOSFODNN7EXAMPLE"],
  ["GitHub token", "ghp_" + "a1B2c3D4e5".repeat(4).slice(0, 36)],
  ["GitHub fine-grained token", "github_pat_" + "11ABCDEFG0".repeat(9).slice(0, 82)],
  ["Anthropic API key", "sk-ant-api03-" + "Ab1_".repeat(24)],
  ["OpenAI API key", "sk-proj-" + "abcdEFGH1234".repeat(2) + "T3BlbkFJ" + "wxyzWXYZ9876".repeat(2)],
  ["Stripe secret key", "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"],
  ["Slack token", "xoxb-" + "1234567890-abcdefghij"],
  ["Slack webhook URL", "https://hooks.slack.com/services/T0000AAAA/B0000BBBB/abcdefghijklmnop"],
  ["Google API key", "AIza" + "SyA1234567890abcdefghijklmnopqrstuv"],
  ["npm token", "npm_" + "abcdefghijklmnopqrstuvwxyz0123456789"],
  ["password in a connection URL", "postgres://agent:hunter2hunter2@db.internal:5432/crm"],
];

describe("secret scanning", () => {
  it.each(SAMPLES)("finds a %s at its position without echoing it", (kind, secret) => {
    const text = `first line\n  token = ${secret} trailing\n`;
    const found = scanForSecrets("f.md", text);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ rule: "secret/detected", line: 2, column: 11, file: "f.md" });
    expect(found[0]?.message).toContain(kind);
    expect(JSON.stringify(found)).not.toContain(secret);
  });

  it.each([
    "Use the API key from the environment variable ANTHROPIC_API_KEY.",
    "Connect with postgres://db.internal:5432/crm and your own role.",
    "The sk- prefix marks secret keys; never paste one here.",
    "see https://example.com/docs",
  ])("stays quiet on ordinary text: %s", (text) => {
    expect(scanForSecrets("f.md", text)).toEqual([]);
  });
});
