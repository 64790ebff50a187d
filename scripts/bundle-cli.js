// Bundles the CLI into dist/charter-cli/ (npm run build runs it after tsc): one module per
// command plus shared chunks, so that a command loads its own code and the pure packages it
// needs (yaml, ajv's runtime, canonicalize) from a few files instead of a hundred and fifty.
// Packages with native code, servers or their own loaders stay external and load only with the
// command that needs them. bin/charter.js runs the bundle; the app runs dist/github/ as tsc built it.
import { readFile, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
/** Pure packages on the commands' start-up path, bundled; every other dependency stays external. */
const BUNDLED = ["yaml", "ajv", "ajv-formats", "canonicalize"];

const pkg = JSON.parse(await readFile(root + "package.json", "utf8"));
const external = Object.keys(pkg.dependencies).filter((name) => !BUNDLED.includes(name));

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
  // The bundled CommonJS packages call require(); in an ES module it comes from createRequire.
  banner: { js: 'import { createRequire as charterCreateRequire } from "node:module"; const require = charterCreateRequire(import.meta.url);' },
  legalComments: "eof",
  logLevel: "warning",
});
