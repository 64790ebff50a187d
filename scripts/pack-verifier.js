// The auditor's verifier as a release asset: `charter verify` alone, bundled by esbuild with every
// package it uses (yaml, ajv, canonicalize) into one npm package without dependencies, so that
// `npm install -g ./agent-charter-verifier.tgz` needs neither the registry nor Charter's source.
// Writes agent-charter-verifier.tgz and agent-charter-verifier.tgz.sha256 (sha256sum's format)
// into the directory given (default: release/), and prints the SHA-256 to publish beside it.
//
//   node scripts/pack-verifier.js [DIR]      (npm run pack:verifier)
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = resolve(process.argv[2] ?? join(root, "release"));
const NAME = "agent-charter-verifier";
const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8"));

/**
 * ajv's generated validators require their runtime helpers (ajv/dist/runtime/*, ajv-formats)
 * through createRequire, which esbuild leaves to Node at run time; the full package has ajv
 * installed, this one has no node_modules. Without the createRequire line the require() calls are
 * esbuild's to resolve, so the helpers are bundled too.
 */
const bundleValidatorRuntime = {
  name: "bundle-validator-runtime",
  setup(build) {
    build.onLoad({ filter: /schema-types[\\/][a-z-]+\.validator\.generated\.ts$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      const line = "const require = createRequire(import.meta.url);";
      if (!text.includes(line)) throw new Error(`${args.path}: no createRequire line; scripts/pack-verifier.js must follow scripts/generate-types.js`);
      return { contents: text.replace(line, "").replace(/^import \{ createRequire \} from "node:module";$/m, ""), loader: "ts" };
    });
  },
};

const stage = await mkdtemp(join(tmpdir(), "charter-verifier-"));
try {
  await build({
    absWorkingDir: root,
    entryPoints: ["src/cli/verifier-main.ts"],
    // dist/verifier/: the CLI finds package.json two levels up and schemas/ above itself, as in the full package.
    outdir: join(stage, "dist/verifier"),
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    banner: { js: 'import { createRequire as charterCreateRequire } from "node:module"; const require = charterCreateRequire(import.meta.url);' },
    legalComments: "eof",
    logLevel: "warning",
    plugins: [bundleValidatorRuntime],
  });
  await cp(join(root, "schemas"), join(stage, "schemas"), { recursive: true });
  await mkdir(join(stage, "bin"));
  await writeFile(
    join(stage, "bin/charter.js"),
    `#!/usr/bin/env node
import { runVerifier } from "../dist/verifier/verifier-main.js";

process.exitCode = await runVerifier(process.argv.slice(2), {
  cwd: process.cwd(),
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
});
`,
    { mode: 0o755 },
  );
  await writeFile(
    join(stage, "package.json"),
    `${JSON.stringify(
      {
        name: NAME,
        version: pkg.version,
        description: "charter verify alone: verifies Charter's evidence ledger offline, with no dependencies to install.",
        license: pkg.license,
        type: "module",
        engines: pkg.engines,
        bin: { charter: "bin/charter.js" },
        files: ["bin", "dist", "schemas"],
      },
      null,
      2,
    )}\n`,
  );
  await writeFile(join(stage, "README.md"), `# ${NAME} ${pkg.version}\n\n\`charter verify\` from Charter ${pkg.version}, bundled alone. See docs/auditor-guide.md in Charter's repository.\n`);
  const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", stage], { cwd: stage, encoding: "utf8" }));
  await mkdir(out, { recursive: true });
  const tarball = join(out, `${NAME}.tgz`);
  await rename(join(stage, packed[0].filename), tarball);
  const sha256 = createHash("sha256").update(await readFile(tarball)).digest("hex");
  await writeFile(`${tarball}.sha256`, `${sha256}  ${NAME}.tgz\n`);
  process.stdout.write(`${tarball}\nsha256 ${sha256}\n`);
} finally {
  await rm(stage, { recursive: true, force: true });
}
