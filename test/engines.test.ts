import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import semver from "semver";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, "utf8")) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> };

/** Every installed package that says which Node versions it supports, from the lock file npm ci installs. */
const declared = Object.entries(lock.packages).flatMap(([path, entry]) => {
  const engines = entry.engines;
  const node = engines !== undefined && !Array.isArray(engines) ? engines.node : undefined;
  return path !== "" && node !== undefined ? [{ name: `${path.replace(/^.*node_modules\//, "")}@${entry.version ?? "?"}`, node }] : [];
});

describe("the Node versions Charter claims (package.json engines)", () => {
  const claimed = pkg.engines.node;

  it("are versions every installed package supports, runtime and development alike (npm ci warns EBADENGINE otherwise)", () => {
    expect(declared.length).toBeGreaterThan(50);
    const lowest = semver.minVersion(claimed)?.version ?? "";
    const refusing = declared.filter((p) => !semver.satisfies(lowest, p.node) || !semver.satisfies(process.version, p.node)).map((p) => `${p.name} wants ${p.node}`);
    expect(refusing).toEqual([]);
  });

  it("include the Node this run (CI) uses, and no major version CI does not run", () => {
    expect(semver.satisfies(process.version, claimed)).toBe(true);
    expect(semver.intersects(claimed, `>=${String(semver.major(process.version) + 1)}`)).toBe(false);
  });

});
