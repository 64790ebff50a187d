import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadRules } from "../../src/detect/sigma/load-rules.js";
import { parseSettings } from "../../src/detect/settings.js";

const root = fileURLToPath(new URL("../../", import.meta.url));

describe("this repository's own detection files", () => {
  it("load without a problem, and none fires on most events", () => {
    const files = readdirSync(`${root}detection/rules`).map((name) => ({ path: `detection/rules/${name}`, bytes: readFileSync(`${root}detection/rules/${name}`) }));
    const { rules, diagnostics } = loadRules(files);
    expect(diagnostics).toEqual([]);
    expect(rules.detections.length).toBeGreaterThanOrEqual(4);
    expect(rules.correlations.map((c) => c.type)).toEqual(["value_count"]);
  });

  it("settings parse", () => {
    expect(parseSettings(readFileSync(`${root}detection/settings.yml`)).ok).toBe(true);
  });
});
