import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { findManifests } from "../../src/fs/find-manifests.js";
import { WorkingTreeReader } from "../../src/fs/working-tree-reader.js";
import { validateManifests } from "../../src/manifest/validate.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

describe("the repository's own agents/", () => {
  it("are all valid, with every prompt hashed", async () => {
    const files = findManifests(root, [], root);
    const report = await validateManifests(files, new WorkingTreeReader(root));
    expect(report.diagnostics).toEqual([]);
    const dirs = readdirSync(new URL("../../agents/", import.meta.url));
    expect(report.agents.map((a) => a.id).sort()).toEqual([...dirs].sort());
    for (const agent of report.agents) expect(agent.prompts).toHaveLength(agent.manifest.prompts.length);
  });

  it("cover the lifecycle, the providers and the data classes the docs describe", async () => {
    const files = findManifests(root, [], root);
    const { agents } = await validateManifests(files, new WorkingTreeReader(root));
    expect(agents.length).toBeGreaterThanOrEqual(4);
    expect(agents.some((a) => a.manifest.status === "retired")).toBe(true);
    expect(new Set(agents.map((a) => a.manifest.credentials.provider))).toEqual(new Set(["local", "postgres"]));
    expect(agents.flatMap((a) => a.manifest.dataClassifications)).toEqual(expect.arrayContaining(["customer-pii", "financial", "source-code"]));
  });
});
