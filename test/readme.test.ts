import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { loadSchema } from "../src/schemas.js";
import { runGroup } from "./helpers/child-processes.js";
import { runCli } from "./cli/run-cli.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const README = readFileSync(join(ROOT, "README.md"), "utf8");

interface Block {
  readonly info: string;
  readonly text: string;
  /** 1-based line of the opening fence, for messages. */
  readonly line: number;
}

/** The fenced code blocks of a Markdown text. */
function fencedBlocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i] ?? "");
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] ?? ""); i++) body.push(lines[i] ?? "");
    out.push({ info: open[1] ?? "", text: body.join("\n"), line: start + 1 });
  }
  return out;
}

/** The commands `charter --help` lists. */
async function commands(): Promise<string[]> {
  const help = (await runCli(["--help"], ROOT)).stdout;
  return [...help.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1] ?? "");
}

/** Subcommands with a --help of their own, whose usage lines README shows apart from their command's. */
const OWN_HELP: Readonly<Record<string, readonly string[]>> = { "audit actions": ["audit", "actions"] };

async function helpOf(command: string): Promise<string> {
  const args = OWN_HELP[command] ?? [command];
  const result = await runCli([...args, "--help"], ROOT);
  expect(result.code, `charter ${args.join(" ")} --help`).toBe(0);
  return result.stdout;
}

/** A help text's usage lines as README writes them: without "Usage: ", and the lines under it dedented alike. */
function usageAsWritten(help: string): string[] {
  const lines = help.slice(0, help.indexOf("\n\n")).split("\n");
  return lines.map((line, i) => (i === 0 ? line.replace(/^Usage: /, "") : line.replace(/^ {7}/, "")));
}

describe("README.md", () => {
  it("shows each command's usage lines exactly as its --help prints them", async () => {
    const usageBlocks = fencedBlocks(README).filter((b) => b.info === "" && /^charter [a-z]/.test(b.text));
    const shown = new Map<string, string[]>();
    for (const block of usageBlocks) {
      let current = "";
      for (const line of block.text.split("\n")) {
        const named = /^charter (audit (?:actions|trace)\b|[a-z]+)/.exec(line)?.[1];
        if (named !== undefined) current = named.startsWith("audit ") ? "audit actions" : named;
        shown.set(current, [...(shown.get(current) ?? []), line]);
      }
    }
    for (const command of [...(await commands()), ...Object.keys(OWN_HELP)]) {
      expect(shown.get(command), `README's usage block for charter ${command}`).toEqual(usageAsWritten(await helpOf(command)));
    }
  });

  it("every option a command accepts is in its usage lines", async () => {
    for (const [command, options] of acceptedOptions()) {
      const usage = usageAsWritten(await helpOf(command)).join("\n");
      const missing = options.filter((option) => option !== "help" && !usage.includes(`--${option}`));
      expect(missing, `charter ${command}'s usage lines`).toEqual([]);
    }
  });

  it("its exit-status table agrees with every command's --help", async () => {
    const section = README.slice(README.indexOf("## Exit status"), README.indexOf("## `charter validate`"));
    const findings = /^\| `1` \|[^|]*\| (.*) \|$/m.exec(section)?.[1] ?? "";
    const listed = [...findings.matchAll(/`([a-z]+)` \(/g)].map((m) => m[1]);
    const withFindings: string[] = [];
    for (const command of await commands()) {
      const status = /Exit status: ([\s\S]*?)(?:\n\n|$)/.exec(await helpOf(command))?.[1] ?? "";
      expect(status, `charter ${command} --help states its exit status`).toMatch(/^0 /);
      expect(status, `charter ${command}: usage errors exit 2`).toMatch(/\b2 usage/);
      if (/[,;] 1 /.test(status)) withFindings.push(command);
    }
    expect(listed).toEqual(withFindings);
  });

  it("its manifest reference names every key of the schema, and only those, with the schema's required keys", () => {
    const section = README.slice(README.indexOf("### Manifest reference"), README.indexOf("### Permissions"));
    const rows = [...section.matchAll(/^\| `([^`]+)` \| ([^|]+) \|/gm)].map((m) => ({ key: m[1] ?? "", required: (m[2] ?? "").trim() }));
    const schema = loadSchema("agent-manifest") as { properties: Record<string, unknown>; required: string[]; $defs: Record<string, { properties?: Record<string, unknown> }> };
    const topLevel = [...new Set(rows.map((r) => r.key.split(/[.[]/)[0] ?? ""))];
    expect(topLevel.sort()).toEqual(Object.keys(schema.properties).sort());
    for (const row of rows.filter((r) => !r.key.includes("."))) {
      const name = row.key.replace("[]", "");
      expect(row.required === "yes", `${row.key} is required in the schema`).toBe(schema.required.includes(name));
    }
    for (const row of rows.filter((r) => r.key.includes("."))) {
      const [parent = "", child = ""] = row.key.split(".");
      const definition = schema.properties[parent] as { $ref?: string; properties?: Record<string, unknown> };
      const properties = definition.$ref === undefined ? definition.properties : schema.$defs[definition.$ref.replace("#/$defs/", "")]?.properties;
      expect(Object.keys(properties ?? {}), `${row.key} in the schema`).toContain(child);
    }
  });

  describe("its console examples, run exactly as written", () => {
    const blocks = fencedBlocks(README).filter((b) => b.info === "console");
    const dir = mkdtempSync(join(tmpdir(), "charter-readme-"));
    // `charter` on PATH is the built binary, as after npm install -g.
    writeFileSync(join(dir, "charter"), `#!/bin/sh\nexec "${process.execPath}" "${join(ROOT, "bin", "charter.js")}" "$@"\n`);
    chmodSync(join(dir, "charter"), 0o755);
    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it("there are some", () => {
      expect(blocks.length).toBeGreaterThanOrEqual(4);
    });

    it.each(blocks.map((b) => [b.line, b] as const))("the block at README.md:%i", async (_line, block) => {
      const repo = mkdtempSync(join(tmpdir(), "charter-readme-repo-"));
      try {
        // Each block starts from a clone of this repository's sample agents, committed once.
        cpSync(join(ROOT, "agents"), join(repo, "agents"), { recursive: true });
        const env = {
          ...process.env,
          PATH: `${dir}:${process.env["PATH"] ?? ""}`,
          GIT_AUTHOR_NAME: "Dana Support",
          GIT_AUTHOR_EMAIL: "dana-support@users.noreply.github.com",
          GIT_COMMITTER_NAME: "Dana Support",
          GIT_COMMITTER_EMAIL: "dana-support@users.noreply.github.com",
          GIT_AUTHOR_DATE: "2026-03-02T09:00:00Z",
          GIT_COMMITTER_DATE: "2026-03-02T09:00:00Z",
          GIT_CONFIG_NOSYSTEM: "1",
          GIT_CONFIG_GLOBAL: "/dev/null",
        };
        const sh = (command: string) => runGroup("sh", ["-c", `${command} 2>&1`], { cwd: repo, env, timeoutMs: 20_000, allowFailure: true });
        await sh("git init -q -b main && git add -A && git commit -qm 'The sample agents'");
        for (const step of steps(block.text)) {
          const result = await sh(step.command);
          expect(result.stdout.trimEnd(), `README.md:${String(block.line)}: $ ${step.command}`).toBe(step.output);
        }
      } finally {
        rmSync(repo, { recursive: true, force: true });
      }
    });
  });
});

/** A console block's commands (lines after "$ ") and the output shown under each. */
function steps(text: string): { command: string; output: string }[] {
  const out: { command: string; output: string[] }[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("$ ")) out.push({ command: line.slice(2), output: [] });
    else out.at(-1)?.output.push(line);
  }
  return out.map((s) => ({ command: s.command, output: s.output.join("\n").trimEnd() }));
}

/**
 * Every command's options, read from the source: the `options` object handed to parseOptions
 * in each src/cli/*-command.ts (or the shared constant it names).
 */
function acceptedOptions(): Map<string, string[]> {
  const dir = join(ROOT, "src", "cli");
  const shared = new Map<string, string[]>();
  const sources = new Map<string, ts.SourceFile>();
  for (const file of ["provisioning-input.ts", ...["validate", "diff", "evaluate", "evidence", "verify", "audit", "plan", "sync", "drift", "token", "jobs"].map((c) => `${c}-command.ts`)]) {
    sources.set(file, ts.createSourceFile(file, readFileSync(join(dir, file), "utf8"), ts.ScriptTarget.Latest, true));
  }
  const keys = (node: ts.ObjectLiteralExpression): string[] => node.properties.flatMap((p) => (p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) ? [p.name.text] : []));
  for (const source of sources.values()) {
    ts.forEachChild(source, function visit(node): void {
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
        const value = ts.isAsExpression(node.initializer) ? node.initializer.expression : node.initializer;
        if (ts.isObjectLiteralExpression(value)) shared.set(node.name.text, keys(value));
      }
      ts.forEachChild(node, visit);
    });
  }
  const out = new Map<string, string[]>();
  for (const [file, source] of sources) {
    const command = /^([a-z]+)-command\.ts$/.exec(file)?.[1];
    if (command === undefined) continue;
    const found: string[] = [];
    ts.forEachChild(source, function visit(node): void {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "parseOptions") {
        const config = node.arguments[0];
        const options = config && ts.isObjectLiteralExpression(config) ? config.properties.find((p) => p.name && ts.isIdentifier(p.name) && p.name.text === "options") : undefined;
        if (options && ts.isPropertyAssignment(options)) {
          if (ts.isObjectLiteralExpression(options.initializer)) found.push(...keys(options.initializer));
          else if (ts.isIdentifier(options.initializer)) found.push(...(shared.get(options.initializer.text) ?? []));
        }
      }
      ts.forEachChild(node, visit);
    });
    expect(found.length, `${file} reads options through parseOptions`).toBeGreaterThan(0);
    out.set(command, [...new Set(found)]);
  }
  return out;
}
