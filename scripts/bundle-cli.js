// Bundles the CLI into dist/charter-cli/ (npm run build runs it after tsc): one module per
// command plus shared chunks, so that a command loads its own code and the pure packages it
// needs (yaml, ajv's runtime, canonicalize) from a few files instead of a hundred and fifty.
// Packages with native code, servers or their own loaders stay external and load only with the
// command that needs them. bin/charter.js runs the bundle; the app runs dist/github/ as tsc built it.
import { readFile, rm } from "node:fs/promises";
import { builtinModules } from "node:module";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
/** Pure packages on the commands' start-up path, bundled; every other dependency stays external. */
const BUNDLED = ["yaml", "ajv", "ajv-formats", "canonicalize"];

const pkg = JSON.parse(await readFile(root + "package.json", "utf8"));
const external = Object.keys(pkg.dependencies).filter((name) => !BUNDLED.includes(name));

const BUILTIN = new RegExp(`^(node:.*|${builtinModules.map((name) => name.replace(/[/]/g, "\\/")).join("|")})$`);

/**
 * Node's built-in modules reached with require(), not import. Importing one from an ES module
 * builds an ES facade that reads every export, and reading node:fs's stream exports loads the
 * stream modules, which validate never uses; require() hands over the module as it is.
 * node:module stays an import: the banner needs it to create require().
 */
const builtinsByRequire = {
  name: "builtins-by-require",
  setup(build) {
    build.onResolve({ filter: BUILTIN }, (args) => {
      if (args.path === "node:module" || args.namespace === "builtin") return { path: args.path, external: true };
      return { path: args.path, namespace: "builtin" };
    });
    build.onLoad({ filter: /.*/, namespace: "builtin" }, (args) => ({ contents: `module.exports = require(${JSON.stringify(args.path)});`, loader: "js" }));
  },
};

/**
 * The generated validators reach ajv's runtime helpers (and ajv-formats' formats) with a
 * require() of their own (scripts/generate-types.js says why). Here that require is esbuild's, so
 * the helpers are bundled with the validator instead of being resolved in node_modules at start-up.
 */
const validatorsBundleTheirRuntime = {
  name: "validators-bundle-their-runtime",
  setup(build) {
    build.onLoad({ filter: /\.validator\.generated\.ts$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      return { contents: source.replace(/^const require = createRequire\(import\.meta\.url\);$/m, ""), loader: "ts" };
    });
  },
};

// Chunk names carry content hashes: a previous build's chunks would otherwise stay and ship.
await rm(root + "dist/charter-cli", { recursive: true, force: true });
await build({
  absWorkingDir: root,
  // The SQLite trail's writer thread is loaded by file name (new Worker), so it is an entry of its own.
  entryPoints: { main: "src/cli/main.ts", "sqlite-trail-writer": "src/sources/sqlite-trail-writer.ts" },
  outdir: "dist/charter-cli",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: [...external, ...external.map((name) => `${name}/*`)],
  // yaml's ES build, so that only the parts parse-yaml uses are bundled (its CommonJS build is
  // bundled whole and runs every module's body at the first parse). The two builds differ only
  // in how yaml prints its own warnings, which parse-yaml never asks for.
  alias: { yaml: "./node_modules/yaml/browser/index.js" },
  plugins: [builtinsByRequire, validatorsBundleTheirRuntime],
  // The bundled CommonJS packages call require(); in an ES module it comes from createRequire.
  banner: { js: 'import { createRequire as charterCreateRequire } from "node:module"; const require = charterCreateRequire(import.meta.url);' },
  legalComments: "eof",
  logLevel: "warning",
});
