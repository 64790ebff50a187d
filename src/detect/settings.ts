import { decodeText } from "../manifest/decode.js";
import type { Diagnostic } from "../manifest/diagnostic.js";
import { DEFAULT_LIMITS } from "../manifest/limits.js";
import { parseYaml } from "../manifest/parse-yaml.js";
import { validateAgainstSchema } from "../manifest/schema-validator.js";
import { validate as detectionSettingsValidator } from "../schema-types/detection-settings.validator.generated.js";
import type { DetectionSettings, Price } from "../schema-types/detection-settings.generated.js";

/** Where the repository keeps detection: rules under rules/, settings beside them. */
export const DETECTION_DIR = "detection/";
export const RULES_DIR = "detection/rules/";
export const SETTINGS_FILE = "detection/settings.yml";

/** Settings with every default filled in: what the rules actually use. */
export interface ResolvedSettings {
  readonly prices: readonly Price[];
  readonly disabled: ReadonlySet<string>;
  readonly deniedBurst: { readonly count: number; readonly windowMs: number };
  readonly approvals: { readonly waitMs: number; readonly acceptSelfReported: boolean };
  readonly firstSeen: { readonly lookbackDays: number; readonly learningDays: number };
  readonly volume: { readonly historyDays: number; readonly learningDays: number; readonly factor: number; readonly minimumIncrease: number };
}

export function resolveSettings(settings: DetectionSettings = { version: 1 }): ResolvedSettings {
  return {
    prices: settings.prices ?? [],
    disabled: new Set(settings.disabled ?? []),
    deniedBurst: { count: settings.deniedBurst?.count ?? 5, windowMs: (settings.deniedBurst?.windowSeconds ?? 60) * 1000 },
    approvals: { waitMs: (settings.approvals?.waitSeconds ?? 120) * 1000, acceptSelfReported: settings.approvals?.acceptSelfReported ?? false },
    firstSeen: { lookbackDays: settings.firstSeen?.lookbackDays ?? 30, learningDays: settings.firstSeen?.learningDays ?? 14 },
    volume: {
      historyDays: settings.volume?.historyDays ?? 28,
      learningDays: settings.volume?.learningDays ?? 7,
      factor: settings.volume?.factor ?? 3,
      minimumIncrease: settings.volume?.minimumIncrease ?? 100,
    },
  };
}

export const DEFAULT_SETTINGS: ResolvedSettings = resolveSettings();

export type SettingsLoad = { readonly ok: true; readonly settings: ResolvedSettings } | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** Parses detection/settings.yml with the same defences and positioned errors as a manifest. */
export function parseSettings(bytes: Uint8Array, file = SETTINGS_FILE): SettingsLoad {
  const decoded = decodeText(file, bytes, DEFAULT_LIMITS.maxManifestBytes, "manifest");
  if (!decoded.ok) return { ok: false, diagnostics: decoded.diagnostics };
  const parsed = parseYaml(file, decoded.text, DEFAULT_LIMITS);
  if (!parsed.ok) return { ok: false, diagnostics: parsed.diagnostics };
  const errors = validateAgainstSchema(detectionSettingsValidator, file, parsed.parsed);
  if (errors.length > 0) return { ok: false, diagnostics: errors };
  return { ok: true, settings: resolveSettings(parsed.parsed.value as DetectionSettings) };
}

/** USD per token pair for a model: the exact entry, else the longest matching prefix entry. */
export function priceFor(prices: readonly Price[], model: string): Price | undefined {
  let best: Price | undefined;
  let bestLength = -1;
  for (const p of prices) {
    if (p.model === model) return p;
    if (p.model.endsWith("*") && model.startsWith(p.model.slice(0, -1)) && p.model.length > bestLength) [best, bestLength] = [p, p.model.length];
  }
  return best;
}
