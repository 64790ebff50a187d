import { CharterError } from "../errors.js";
import { loadSchema } from "../schemas.js";

/** The data classes a manifest may declare, read from the manifest schema, their one definition. */
export function dataClassifications(): readonly string[] {
  const schema = loadSchema("agent-manifest") as { properties?: { dataClassifications?: { items?: { enum?: unknown } } } };
  const values = schema.properties?.dataClassifications?.items?.enum;
  if (!Array.isArray(values) || !values.every((v): v is string => typeof v === "string")) {
    throw new CharterError("INTERNAL", "the agent manifest schema lists no data classifications");
  }
  return values;
}
