import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
// The generator is the project's own script; the test re-runs it and compares with the
// committed output, so the TypeScript types cannot silently drift from the JSON Schema.
import { render, renderValidator, targets, validatorTargets } from "../../scripts/generate-types.js";

describe("generated types and validators", () => {
  it.each(targets)("$output matches $schema", async ({ schema, output }) => {
    const committed = await readFile(new URL(`../../${output}`, import.meta.url), "utf8");
    expect(committed, "run npm run generate and commit the result").toBe(await render(schema));
  });

  it.each(validatorTargets)("$output is ajv's code for $schema", async ({ schema, output }) => {
    const committed = await readFile(new URL(`../../${output}`, import.meta.url), "utf8");
    expect(committed, "run npm run generate and commit the result").toBe(await renderValidator(schema));
  });
});
