// Generates the TypeScript types for every JSON Schema in schemas/ that Charter's code reads.
// The schemas are the single source of truth; `npm run generate` rewrites the .generated.ts files
// and a test (test/manifest/schema-drift.test.ts) fails when a committed copy differs.
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { compile } from "json-schema-to-typescript";

const root = fileURLToPath(new URL("..", import.meta.url));

export const targets = [
  { schema: "schemas/agent-manifest.schema.json", output: "src/manifest/agent-manifest.generated.ts" },
  { schema: "schemas/charter-policy.schema.json", output: "src/policy/charter-policy.generated.ts" },
  { schema: "schemas/evidence-record.schema.json", output: "src/evidence/evidence-record.generated.ts" },
  { schema: "schemas/detection-settings.schema.json", output: "src/detect/detection-settings.generated.ts" },
];

export async function render(schemaPath) {
  const schema = JSON.parse(await readFile(root + schemaPath, "utf8"));
  return compile(schema, schema.title, {
    bannerComment: `/* Generated from ${schemaPath} by scripts/generate-types.js. Do not edit: run npm run generate. */`,
    additionalProperties: false,
    strictIndexSignatures: true,
    unknownAny: true,
    ignoreMinAndMaxItems: true,
    format: true,
    style: { singleQuote: false, printWidth: 110 },
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const { schema, output } of targets) {
    await writeFile(root + output, await render(schema));
    console.log(`wrote ${output}`);
  }
}
