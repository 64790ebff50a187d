import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsPlugin, { type FormatsPlugin } from "ajv-formats";
import { parse } from "yaml";
import { findManifests } from "../src/fs/find-manifests.js";
import { WorkingTreeReader } from "../src/fs/working-tree-reader.js";
import { validateManifests } from "../src/manifest/validate.js";
import { loadSchema } from "../src/schemas.js";
import { compare, report } from "./measure.js";
import { writeRepository } from "./seed-repository.js";

const AGENTS = Number(process.env["CHARTER_BENCH_AGENTS"] ?? 10_000);
const ROUNDS = 3;

/**
 * `charter validate` over a generated repository of 10,000 agents and their prompt files,
 * against the least any validator must do with the same files: read them, yaml.parse each
 * manifest, run a compiled ajv validator. Target: ratio ≤ 1.5.
 */
export async function run(): Promise<void> {
  const root = writeRepository(AGENTS);
  try {
    const manifests = findManifests(root, [], root);
    const promptFiles = manifests.flatMap((m) => {
      const dir = join(root, m, "..");
      const manifest = parse(readFileSync(join(root, m), "utf8")) as { prompts: { path: string }[] };
      return manifest.prompts.map((p) => join(dir, p.path));
    });

    const ajv = new Ajv2020({ allErrors: true, strict: true });
    (addFormatsPlugin as unknown as FormatsPlugin)(ajv, ["date", "date-time", "uri"]);
    const validate = ajv.compile(loadSchema("agent-manifest"));

    const charter = { ok: false };
    const result = await compare(
      ROUNDS,
      async () => {
        const files = findManifests(root, [], root);
        const r = await validateManifests(files, new WorkingTreeReader(root));
        charter.ok = r.ok && r.agents.length === AGENTS;
      },
      () => {
        let valid = 0;
        for (const m of manifests) if (validate(parse(readFileSync(join(root, m), "utf8")))) valid++;
        for (const p of promptFiles) readFileSync(p);
        if (valid !== AGENTS) throw new Error(`baseline saw ${valid} valid manifests`);
      },
    );
    if (!charter.ok) throw new Error("charter validate did not accept the generated repository");
    report({
      bench: "validate",
      agents: AGENTS,
      files: manifests.length + promptFiles.length,
      charter_ms: result.candidateMs,
      baseline: "yaml.parse + compiled ajv over the same files",
      baseline_ms: result.baselineMs,
      ratio: result.ratio,
      target_ratio: 1.5,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
