import { createReadStream, existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { createInterface } from "node:readline";
import { parseOptions } from "./parse-options.js";
import type { Alert } from "../detect/alert.js";
import { Detector } from "../detect/detector.js";
import type { Notice } from "../detect/hit.js";
import { manifestCatalog } from "../detect/manifests-in-force.js";
import { parseEventLine } from "../detect/read-events.js";
import { ruleHits } from "../detect/rule-hits.js";
import { isRuleFile, loadRules, RULE_LIMITS, type RuleFile } from "../detect/sigma/load-rules.js";
import { DEFAULT_SETTINGS, parseSettings, RULES_DIR, SETTINGS_FILE, type ResolvedSettings } from "../detect/settings.js";
import { CharterError } from "../errors.js";
import { findManifests, findRepositoryRoot } from "../fs/find-manifests.js";
import { WorkingTreeReader } from "../fs/working-tree-reader.js";
import type { Diagnostic } from "../manifest/diagnostic.js";
import { validateManifests } from "../manifest/validate.js";
import { chooseFormat } from "./choose-format.js";
import { DETECT_FORMATS, renderDetection } from "./detect-formats.js";
import { EXIT, type CliIo } from "./io.js";

const DETECT_HELP = `Usage: charter detect --events FILE [--rules DIR] [--settings FILE] [--root DIR] [--format table|json]

Runs Charter's detection engine over a file of trail events, exactly as it runs on live ingest:
the built-in manifest rules, the learned baselines and the Sigma rules of the rules directory.
Use it to try a rule before proposing it, and to backtest rules over an export of the trail.

  --events FILE   NDJSON, one trail event per line, in trail order (seq ascending); - reads stdin
  --rules DIR     Sigma rule files (*.yml, *.yaml) (default: <root>/${RULES_DIR} when it exists)
  --settings FILE detection settings: prices, thresholds (default: <root>/${SETTINGS_FILE} when it exists)
  --root DIR      repository root; manifests are read from <root>/agents (default: the nearest
                  directory holding .git). Offline, each agent's manifest in the working tree stands
                  for every version of it the events name.
  --format        table (default): one line per alert, then notices and each rule's matches
                  json: { events, alerts[], notices[], rules[] }

Exit status: 0 no alert, 1 alerts raised, 2 usage error, bad rules or bad events.
`;

const MAX_EVENT_ERRORS = 20;

export async function detectCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseOptions({
    args: [...argv],
    strict: true,
    options: {
      events: { type: "string" },
      rules: { type: "string" },
      settings: { type: "string" },
      root: { type: "string" },
      format: { type: "string", default: "table" },
      help: { type: "boolean", short: "h" },
    },
  }, DETECT_HELP);
  if (values.help) {
    io.out(DETECT_HELP);
    return EXIT.ok;
  }
  const format = chooseFormat(values.format, DETECT_FORMATS);
  if (values.events === undefined) throw new CharterError("USAGE", "--events FILE is required", { hint: "Pass an NDJSON file of trail events, or - for standard input." });
  const root = values.root === undefined ? findRepositoryRoot(io.cwd) : resolve(io.cwd, values.root);

  const settings = readSettings(values.settings === undefined ? join(root, SETTINGS_FILE) : resolve(io.cwd, values.settings), values.settings !== undefined, root, io);
  if (!settings) return EXIT.error;
  const rulesDir = values.rules === undefined ? join(root, RULES_DIR) : resolve(io.cwd, values.rules);
  const loaded = loadRules(existsSync(rulesDir) || values.rules !== undefined ? readRuleFiles(rulesDir, root) : []);
  const errors = loaded.diagnostics.filter((d) => d.severity === "error");
  if (loaded.diagnostics.length > 0) io.err(loaded.diagnostics.map(describeDiagnostic).join(""));
  if (errors.length > 0) {
    io.err(`charter: ${errors.length} error${errors.length === 1 ? "" : "s"} in the rules; nothing was evaluated\n`);
    return EXIT.error;
  }

  const detector = new Detector({ manifests: await readManifests(root, io), rules: loaded.rules, settings });
  const alerts: Alert[] = [];
  const notices: Notice[] = [];
  const collect = (out: { alerts: readonly Alert[]; notices: readonly Notice[] }) => {
    alerts.push(...out.alerts);
    notices.push(...out.notices);
  };
  const name = values.events;
  const stream = name === "-" ? process.stdin : createReadStream(resolve(io.cwd, name), { encoding: "utf8" });
  const problems: string[] = [];
  let count = 0;
  let lineNumber = 0;
  let lastSeq = 0;
  try {
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      lineNumber++;
      if (line.trim() === "") continue;
      const parsed = parseEventLine(line);
      if (!parsed.ok) problems.push(`${name}:${lineNumber}: ${parsed.message}`);
      else if (parsed.event.seq <= lastSeq) problems.push(`${name}:${lineNumber}: seq ${parsed.event.seq} follows seq ${lastSeq}; events must be in trail order (sort the file by seq)`);
      else if (problems.length === 0) {
        lastSeq = parsed.event.seq;
        count++;
        collect(detector.process(parsed.event));
      }
      if (problems.length >= MAX_EVENT_ERRORS) break;
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ENOENT" || code === "EISDIR" || code === "EACCES") throw new CharterError("NOT_FOUND", `${name}: cannot read the events file (${code})`, { hint: "Check the path." });
    throw error;
  }
  if (problems.length > 0) {
    io.err(problems.join("\n") + `\ncharter: the events file has errors${problems.length >= MAX_EVENT_ERRORS ? ` (stopped after ${MAX_EVENT_ERRORS})` : ""}; fix them and run again\n`);
    return EXIT.error;
  }
  collect(detector.finish());
  io.out(renderDetection({ events: count, alerts, notices, rules: ruleHits(loaded.rules, detector, count) }, format));
  return alerts.length > 0 ? EXIT.findings : EXIT.ok;
}

function readSettings(path: string, explicit: boolean, root: string, io: CliIo): ResolvedSettings | undefined {
  if (!explicit && !existsSync(path)) return DEFAULT_SETTINGS;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new CharterError("NOT_FOUND", `${path}: cannot read the settings file`, { hint: "Check the path, or leave --settings out to use the defaults." });
  }
  const parsed = parseSettings(bytes, displayPath(path, root));
  if (parsed.ok) return parsed.settings;
  io.err(parsed.diagnostics.map(describeDiagnostic).join("") + "charter: the detection settings have errors; nothing was evaluated\n");
  return undefined;
}

/** Rule files under dir, at most a few levels deep; symbolic links are not followed out of it. */
function readRuleFiles(dir: string, root: string): RuleFile[] {
  const out: RuleFile[] = [];
  const walk = (at: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(at, { withFileTypes: true });
    } catch {
      throw new CharterError("NOT_FOUND", `${at}: cannot read the rules directory`, { hint: "Pass a directory of Sigma rule files with --rules." });
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(at, entry.name);
      if (entry.isDirectory() && depth < 8) walk(path, depth + 1);
      else if (entry.isFile() && isRuleFile(entry.name) && !lstatSync(path).isSymbolicLink()) {
        if (out.length >= RULE_LIMITS.maxRules) throw new CharterError("LIMIT_EXCEEDED", `more than ${RULE_LIMITS.maxRules} rule files under ${dir}`, { hint: "Point --rules at a smaller directory." });
        out.push({ path: displayPath(path, root), bytes: readFileSync(path) });
      }
    }
  };
  walk(dir, 0);
  return out;
}

async function readManifests(root: string, io: CliIo) {
  if (!existsSync(join(root, "agents"))) return manifestCatalog([]);
  const report = await validateManifests(findManifests(root, [], root), new WorkingTreeReader(root));
  const errors = report.diagnostics.filter((d) => d.severity === "error").length;
  if (errors > 0) io.err(`charter: ${errors} problem${errors === 1 ? "" : "s"} in the manifests under agents/ (run charter validate); agents whose manifest is invalid are judged without one\n`);
  return manifestCatalog(report.agents.map((a) => ({ agent: a.id, seq: 0, manifest: a.manifest })));
}

function displayPath(path: string, root: string): string {
  const rel = relative(root, path);
  const shown = rel.startsWith("..") ? path : rel;
  return sep === "/" ? shown : shown.split(sep).join("/");
}

function describeDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}  ${d.severity === "warning" ? "warning " : ""}${d.rule}  ${d.message}\n    fix: ${d.fix}\n`;
}
