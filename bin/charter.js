#!/usr/bin/env node
// The bundled CLI (scripts/bundle-cli.js): each command loads only what it uses.
import { run } from "../dist/charter-cli/main.js";

process.exitCode = await run(process.argv.slice(2), {
  cwd: process.cwd(),
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
});
