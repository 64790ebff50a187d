import { CATALOG_PATH } from "../change/governed-paths.js";
import { CharterError } from "../errors.js";
import { decodeText } from "../manifest/decode.js";
import { type Diagnostic, diagnostic } from "../manifest/diagnostic.js";
import { DEFAULT_LIMITS } from "../manifest/limits.js";
import { parseYaml } from "../manifest/parse-yaml.js";
import { validateAgainstSchema } from "../manifest/schema-validator.js";
import { validate as resourceCatalogValidator } from "../schema-types/resource-catalog.validator.generated.js";
import type { TrailSystem } from "./event.js";

/**
 * The resource catalog: governed data saying which resources hold which classes of data, at
 * .github/charter-resources.yml (read from the default branch like the policy, so that a pull
 * request cannot reclassify the data it touches). Ingest stamps each event with the classes of
 * the resource it touched; "customer data accessed outside allowed hours" is then one indexed
 * question instead of a join against a spreadsheet.
 *
 *   apiVersion: charter/v1
 *   kind: ResourceCatalog
 *   resources:
 *     - match: postgres:crm.public.customers@crm-prod
 *       dataClasses: [customer-pii]
 *     - match: postgres:crm.public.*          # every table of crm.public, on every instance
 *       dataClasses: [internal]
 */
export { CATALOG_PATH };

export interface CatalogEntry {
  readonly match: string;
  readonly system: TrailSystem;
  /** The resource part; with `prefix` true it matches every resource that starts with it. */
  readonly resource: string;
  readonly prefix: boolean;
  /** undefined: every instance. */
  readonly instance: string | undefined;
  readonly dataClasses: readonly string[];
}

export type CatalogParse =
  | { readonly ok: true; readonly catalog: ResourceCatalog }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

export const MAX_CATALOG_BYTES = 1024 * 1024;

/** Parses and validates a catalog file; every problem is a Diagnostic with its line. */
export function parseResourceCatalog(file: string, bytes: Uint8Array): CatalogParse {
  const decoded = decodeText(file, bytes, MAX_CATALOG_BYTES, "manifest");
  if (!decoded.ok) return { ok: false, diagnostics: decoded.diagnostics };
  const parsed = parseYaml(file, decoded.text, { ...DEFAULT_LIMITS, maxNodes: 100_000 });
  if (!parsed.ok) return { ok: false, diagnostics: parsed.diagnostics };
  const schemaProblems = validateAgainstSchema(resourceCatalogValidator, file, parsed.parsed);
  if (schemaProblems.length > 0) return { ok: false, diagnostics: schemaProblems };
  const value = parsed.parsed.value as { resources: { match: string; dataClasses: string[] }[] };
  const diagnostics: Diagnostic[] = [];
  const entries: CatalogEntry[] = [];
  const seen = new Map<string, number>();
  value.resources.forEach((r, i) => {
    const pointer = `/resources/${i}/match`;
    const entry = entryOf(r.match, r.dataClasses);
    if (typeof entry === "string") {
      diagnostics.push(diagnostic(file, parsed.parsed.locate(pointer), "catalog/invalid-match", `resources[${i}].match ${JSON.stringify(r.match)}: ${entry}`, "Write <system>:<resource>[@<instance>], e.g. postgres:crm.public.customers@crm-prod; * only at the end.", { pointer }));
      return;
    }
    const earlier = seen.get(r.match);
    if (earlier !== undefined) {
      diagnostics.push(diagnostic(file, parsed.parsed.locate(pointer), "catalog/duplicate-match", `resources[${i}].match ${JSON.stringify(r.match)} is already listed at resources[${earlier}]`, "List each resource once, with all of its data classes.", { pointer }));
      return;
    }
    seen.set(r.match, i);
    entries.push(entry);
  });
  if (diagnostics.length > 0) return { ok: false, diagnostics };
  return { ok: true, catalog: new ResourceCatalog(entries) };
}

const SYSTEMS: readonly TrailSystem[] = ["postgres", "redis", "http", "github", "tool"];

function entryOf(match: string, dataClasses: readonly string[]): CatalogEntry | string {
  const colon = match.indexOf(":");
  const system = match.slice(0, colon) as TrailSystem;
  if (!SYSTEMS.includes(system)) return `unknown system; known: ${SYSTEMS.join(", ")}`;
  const rest = match.slice(colon + 1);
  const at = rest.lastIndexOf("@");
  const resource = at === -1 ? rest : rest.slice(0, at);
  const instance = at === -1 ? undefined : rest.slice(at + 1);
  const star = resource.indexOf("*");
  if (star !== -1 && star !== resource.length - 1) return "a * may only end the resource";
  if (resource === "*" || resource === "") return "matches every resource of the system; name a prefix (crm.public.*)";
  return { match, system, resource: star === -1 ? resource : resource.slice(0, -1), prefix: star !== -1, instance, dataClasses: [...dataClasses].sort() };
}

/** Classifies resources; answers are cached, since a trail touches the same few resources over and over. */
/**
 * The catalog a sync works from: absent (undefined), it classifies nothing; an invalid one stops
 * the sync with its first problem, since object auditing judged against a catalog that cannot be
 * read would take back every audit grant Charter made.
 */
export function catalogForSync(bytes: Uint8Array | undefined): ResourceCatalog {
  if (bytes === undefined) return ResourceCatalog.empty();
  const parsed = parseResourceCatalog(CATALOG_PATH, bytes);
  if (parsed.ok) return parsed.catalog;
  const d = parsed.diagnostics[0];
  throw new CharterError("INVALID_CONFIG", `${CATALOG_PATH}${d ? `:${String(d.line)}:${String(d.column)} ${d.rule}: ${d.message}` : " is invalid"}`, {
    hint: d?.fix || "Fix the resource catalog; object auditing covers the tables it classifies.",
  });
}

export class ResourceCatalog {
  readonly entries: readonly CatalogEntry[];
  readonly #cache = new Map<string, readonly string[]>();

  constructor(entries: readonly CatalogEntry[]) {
    this.entries = entries;
  }

  static empty(): ResourceCatalog {
    return new ResourceCatalog([]);
  }

  /** The data classes of a resource: the union over every entry that matches it, sorted. */
  classesOf(system: TrailSystem | null, resource: string | null, instance: string | null): readonly string[] {
    if (system === null || resource === null || this.entries.length === 0) return NONE;
    const key = `${system}\n${resource}\n${instance ?? ""}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const classes = new Set<string>();
    for (const e of this.entries) {
      if (e.system !== system) continue;
      if (e.instance !== undefined && e.instance !== instance) continue;
      if (e.prefix ? !resource.startsWith(e.resource) : e.resource !== resource) continue;
      for (const c of e.dataClasses) classes.add(c);
    }
    const out = classes.size === 0 ? NONE : [...classes].sort();
    if (this.#cache.size > 100_000) this.#cache.clear();
    this.#cache.set(key, out);
    return out;
  }
}

const NONE: readonly string[] = Object.freeze([]);
