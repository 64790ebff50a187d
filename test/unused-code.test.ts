import { readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * Exports that a runner loads by name, so no file of the project names them: each benchmark's
 * `run` (bench/run.ts imports the file by path), vitest's configuration and its global setup, and
 * the auditor's verifier, which the bin/charter.js that scripts/pack-verifier.js writes into its
 * package calls.
 */
const ENTRY_POINTS = [/^bench\/[a-z-]+\.bench\.ts: run$/, /^vitest\.config\.ts: default$/, /^test\/global-setup\.ts: default$/, /^src\/cli\/verifier-main\.ts: runVerifier$/];

/**
 * Exports kept although nothing uses them yet, each with its reason. An entry that something
 * starts to use fails the test, so the list only ever holds what it says.
 */
const NOT_YET_USED: Readonly<Record<string, string>> = {
};

interface Finding {
  /** `file: name`, the file relative to the repository. */
  readonly name: string;
  /** Referenced nowhere, not even in its own file. */
  readonly dead: boolean;
  /** A value (function, constant, class) that no other file imports. */
  readonly localValue: boolean;
}

/**
 * Every export of the project's TypeScript that no other file uses, found with the type checker
 * (each identifier resolved through imports and re-exports to its declaration), so a dynamic
 * import's property or a re-export through an index file counts as a use.
 */
function unusedExports(): Finding[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (config === undefined) throw new Error("tsconfig.json did not parse");
  const program = ts.createProgram(config.fileNames, config.options);
  const checker = program.getTypeChecker();
  const files = program.getSourceFiles().filter((f) => !f.isDeclarationFile && !f.fileName.includes("/node_modules/"));
  const original = (symbol: ts.Symbol): ts.Symbol => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
  const usedElsewhere = new Set<ts.Symbol>();
  const usedAtAll = new Set<ts.Symbol>();
  for (const file of files) {
    const visit = (node: ts.Node): void => {
      if (ts.isIdentifier(node)) {
        const symbol = checker.getSymbolAtLocation(node);
        const declaration = symbol === undefined ? undefined : original(symbol).declarations?.[0];
        if (symbol !== undefined && declaration !== undefined) {
          const target = original(symbol);
          if (declaration.getSourceFile() !== file) usedElsewhere.add(target);
          if (ts.getNameOfDeclaration(declaration) !== node) usedAtAll.add(target);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  const findings: Finding[] = [];
  for (const file of files) {
    const moduleSymbol = checker.getSymbolAtLocation(file);
    if (moduleSymbol === undefined) continue;
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const target = original(exported);
      // A re-export is judged where it is declared.
      if (target.declarations?.[0]?.getSourceFile() !== file || usedElsewhere.has(target)) continue;
      const name = `${relative(ROOT, file.fileName)}: ${exported.name}`;
      if (ENTRY_POINTS.some((p) => p.test(name))) continue;
      findings.push({ name, dead: !usedAtAll.has(target), localValue: (target.flags & ts.SymbolFlags.Value) !== 0 });
    }
  }
  return findings;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return /\.(ts|js|mjs)$/.test(name) ? [path] : [];
  });
}

/** The packages a set of files imports (static, dynamic, require and createRequire calls). */
function packagesImportedBy(paths: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const path of paths) {
    const text = readFileSync(join(ROOT, path), "utf8");
    const specs = [...ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName), ...[...text.matchAll(/(?:require\)?|import\.meta\.resolve)\(\s*"([^"]+)"/g)].map((m) => m[1] ?? "")];
    for (const spec of specs) {
      if (spec.startsWith(".") || spec.startsWith("node:") || builtinModules.includes(spec.split("/")[0] ?? "")) continue;
      names.add(spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/"));
    }
  }
  return names;
}

/** Runtime packages no file imports, loaded by a dependency: each with who loads it and when. */
const LOADED_BY_OTHERS: Readonly<Record<string, string>> = {
  // Probot imports it by name (npx-import-light, the installed copy first) when REDIS_URL is set.
  ioredis: "Probot's throttling shared across replicas through Redis",
};

/** Development packages used as programs or by other tools, not imported: each with where it is used. */
const TOOLS: Readonly<Record<string, string>> = {
  eslint: "npm run lint",
  typescript: "npm run build and npm run lint (tsc)",
  tsx: "npm run bench, npm run playground, and the tests that start the app from source",
  vitest: "npm test",
  // json-schema-to-typescript formats with whatever prettier it finds; pinning it here keeps the
  // generated types byte-identical, which the schema-drift test compares.
  prettier: "npm run generate (formatting of src/schema-types)",
};

describe("unused code and dependencies", () => {
  let findings: Finding[] = [];
  // A whole type-checked program of the project: well under a minute alone, several on a busy machine.
  beforeAll(() => {
    findings = unusedExports();
  }, 600_000);

  it("every export is used somewhere", () => {
    expect(findings.filter((f) => f.dead && NOT_YET_USED[f.name] === undefined).map((f) => f.name)).toEqual([]);
  });

  it("every exported function, constant and class is imported by another file (otherwise it needs no export)", () => {
    expect(findings.filter((f) => f.localValue && !f.dead).map((f) => f.name)).toEqual([]);
  });

  it("exports kept for work in progress are still unused", () => {
    const unused = new Set(findings.map((f) => f.name));
    expect(Object.keys(NOT_YET_USED).filter((name) => !unused.has(name))).toEqual([]);
  });

  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const runtimeFiles = [...sourceFiles("src"), ...sourceFiles("bin")];
  const otherFiles = ["test", "bench", "scripts", "playground"].flatMap(sourceFiles).concat(["eslint.config.js", "vitest.config.ts"]);

  it("every runtime dependency is imported by src/ or bin/", () => {
    const imported = packagesImportedBy(runtimeFiles);
    expect(Object.keys(pkg.dependencies).filter((name) => !imported.has(name) && LOADED_BY_OTHERS[name] === undefined)).toEqual([]);
  });

  it("every package src/ imports is a runtime dependency", () => {
    expect([...packagesImportedBy(runtimeFiles)].filter((name) => pkg.dependencies[name] === undefined)).toEqual([]);
  });

  it("every development dependency is imported by the tests, benchmarks or scripts, or is a tool with a use", () => {
    const imported = packagesImportedBy(otherFiles);
    const used = (name: string): boolean => {
      if (imported.has(name) || TOOLS[name] !== undefined) return true;
      // @types/x serves the package x (or Node itself).
      const typed = name.startsWith("@types/") ? name.slice("@types/".length) : undefined;
      return typed !== undefined && (typed === "node" || pkg.dependencies[typed] !== undefined || pkg.devDependencies[typed] !== undefined);
    };
    expect(Object.keys(pkg.devDependencies).filter((name) => !used(name))).toEqual([]);
  });
});
