// Generates, for every JSON Schema in schemas/ that Charter's code reads, its TypeScript types and
// its validator (ajv's standalone code, so that no process compiles a schema at start-up: compiling
// the manifest schema alone cost more than starting Node). The schemas are the single source of
// truth; `npm run generate` rewrites the .generated.ts files in src/schema-types/ and a test
// (test/manifest/schema-drift.test.ts) fails when a committed copy differs.
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import standaloneCode from "ajv/dist/standalone/index.js";
import { compile } from "json-schema-to-typescript";

const root = fileURLToPath(new URL("..", import.meta.url));

export const targets = [
  { schema: "schemas/agent-manifest.schema.json", output: "src/schema-types/agent-manifest.generated.ts" },
  { schema: "schemas/charter-policy.schema.json", output: "src/schema-types/charter-policy.generated.ts" },
  { schema: "schemas/evidence-record.schema.json", output: "src/schema-types/evidence-record.generated.ts" },
  { schema: "schemas/detection-settings.schema.json", output: "src/schema-types/detection-settings.generated.ts" },
];

export const validatorTargets = [
  "agent-manifest",
  "charter-policy",
  "pull-request-snapshot",
  "evidence-record",
  "detection-settings",
  "trail-event",
  "resource-catalog",
].map((name) => ({
  schema: `schemas/${name}.schema.json`,
  output: `src/schema-types/${name}.validator.generated.ts`,
}));

/**
 * The options every validator is compiled with; src/manifest/schema-validator.ts translates the
 * errors they produce (verbose: each error carries its schema, for messages that list what is allowed).
 */
const AJV_OPTIONS = { allErrors: true, verbose: true, strict: true, allowUnionTypes: false, discriminator: true };
const FORMATS = ["date", "date-time", "uri"];

export async function renderValidator(schemaPath) {
  const schema = JSON.parse(await readFile(root + schemaPath, "utf8"));
  const ajv = new Ajv2020({ ...AJV_OPTIONS, code: { source: true, esm: true } });
  addFormats.default(ajv, FORMATS);
  const code = standaloneCode.default(ajv, ajv.compile(schema));
  // ajv's standalone ESM still reaches its runtime helpers with require(): one created for the
  // module serves them (an import would meet each loader's own CommonJS interop; require is the same everywhere).
  const body = code
    .replace(/^"use strict";/, "")
    .replace("export default validate20;", "")
    .replace("export const validate = validate20;", 'export const validate: import("ajv/dist/2020.js").ValidateFunction = validate20;');
  return [
    `/* Generated from ${schemaPath} by scripts/generate-types.js. Do not edit: run npm run generate. */`,
    "// @ts-nocheck -- ajv's generated code, checked by the schema tests, not by the compiler.",
    'import { createRequire } from "node:module";',
    "const require = createRequire(import.meta.url);",
    body,
    "",
  ].join("\n");
}

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
  for (const { schema, output } of validatorTargets) {
    await writeFile(root + output, await renderValidator(schema));
    console.log(`wrote ${output}`);
  }
}
