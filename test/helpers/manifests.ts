/**
 * A valid manifest as text, and ways to derive broken ones from it. Tests compute expected
 * positions from the fixture text itself (lineOf), never from the code under test.
 */
export const VALID_MANIFEST = `apiVersion: charter/v1
kind: Agent
id: sample-agent
name: Sample Agent
purpose: Answers questions about orders for the support team.
status: active
environment: production
owners:
  - user: alice
  - team: acme/support
dataClassifications: [customer-pii]
model:
  provider: anthropic
  name: claude-sonnet-4-5
  version: "20250929"
prompts:
  - path: prompts/system.md
    role: system
tools:
  - name: orders
    description: Read orders.
    permissions:
      - postgres:select:shop.public.orders@shop-prod
credentials:
  provider: postgres
  maxLifetime: 1h
`;

export const VALID_PROMPT = "You answer questions about orders. Never reveal personal data.\n";

/** Replaces the first occurrence of `from` and fails loudly if the fixture no longer has it. */
export function mutate(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`fixture does not contain ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

/** 1-based line and column where `needle` first appears in `text`. */
export function lineOf(text: string, needle: string): { line: number; column: number } {
  const offset = text.indexOf(needle);
  if (offset === -1) throw new Error(`fixture does not contain ${JSON.stringify(needle)}`);
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

export function agentFiles(id: string, manifest: string, prompt = VALID_PROMPT): Record<string, string> {
  return { [`agents/${id}/agent.yaml`]: manifest, [`agents/${id}/prompts/system.md`]: prompt };
}
