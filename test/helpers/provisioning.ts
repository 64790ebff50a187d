import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CheckedAgent } from "../../src/manifest/validate.js";
import { VALID_PROMPT } from "./manifests.js";
import { validateFiles } from "./validate-text.js";

export interface AgentSpec {
  readonly id: string;
  readonly permissions?: readonly string[];
  readonly provider?: "local" | "postgres";
  readonly maxLifetime?: string;
  readonly status?: "active" | "retired";
}

/** A complete, valid manifest for `spec`: real YAML that goes through the real validator. */
export function manifestText(spec: AgentSpec): string {
  const retired = spec.status === "retired";
  const permissions = retired ? [] : (spec.permissions ?? []);
  const tools = permissions.length === 0 ? "tools: []\n" : `tools:\n  - name: work\n    permissions:\n${permissions.map((p) => `      - ${p}\n`).join("")}`;
  return `apiVersion: charter/v1
kind: Agent
id: ${spec.id}
name: Agent ${spec.id}
purpose: Does one well-defined job for the tests.
status: ${retired ? "retired" : "active"}
environment: production
owners:
  - user: alice
dataClassifications: [internal]
model:
  provider: anthropic
  name: claude-sonnet-4-5
  version: "20250929"
prompts:
  - path: prompts/system.md
    role: system
${tools}credentials:
  provider: ${spec.provider ?? "local"}
  maxLifetime: ${spec.maxLifetime ?? "1h"}
${retired ? "retirement:\n  date: 2026-06-30\n  reason: replaced\n" : ""}`;
}

export function agentTree(specs: readonly AgentSpec[]): Record<string, string> {
  const files: Record<string, string> = {};
  for (const spec of specs) {
    files[`agents/${spec.id}/agent.yaml`] = manifestText(spec);
    files[`agents/${spec.id}/prompts/system.md`] = VALID_PROMPT;
  }
  return files;
}

/** Validated agents, as validateManifests returns them; fails the test if any manifest is invalid. */
export async function checkedAgents(files: Readonly<Record<string, string>>): Promise<CheckedAgent[]> {
  const report = await validateFiles(files);
  const errors = report.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) throw new Error(`fixture manifests are invalid: ${JSON.stringify(errors, null, 2)}`);
  return [...report.agents];
}

export function signingKeyPem(): string {
  return generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

export interface TempDir {
  readonly path: string;
  file(name: string): string;
  remove(): void;
}

export function tempDir(): TempDir {
  const path = mkdtempSync(join(tmpdir(), "charter-provision-"));
  return {
    path,
    file: (name) => join(path, name),
    remove: () => {
      rmSync(path, { recursive: true, force: true });
    },
  };
}

export const COMMIT_A = "a".repeat(40);
export const COMMIT_B = "b".repeat(40);
