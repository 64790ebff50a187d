import { createHash } from "node:crypto";
import { decodeText } from "../../manifest/decode.js";
import { compareDiagnostics, type Diagnostic, diagnostic, FILE_START, type Span } from "../../manifest/diagnostic.js";
import { DEFAULT_LIMITS } from "../../manifest/limits.js";
import { parseYamlDocuments } from "../../manifest/parse-yaml.js";
import { EventView } from "../event-fields.js";
import { DocumentProblems } from "./diagnostics.js";
import { BROAD_SHARE, REFERENCE_EVENTS } from "./reference-traffic.js";
import { compileDocument, type CorrelationDraft, type DetectionRule } from "./rule-document.js";

/** A correlation whose references are resolved to the detection rules of its file. */
export interface CorrelationRule extends Omit<CorrelationDraft, "refs" | "problems"> {
  readonly rules: readonly DetectionRule[];
}

/** The rules a detector runs. */
export interface RuleSet {
  /** Detection rules, each evaluated on every event. */
  readonly detections: readonly DetectionRule[];
  /** Keys of detection rules that raise alerts of their own (not only feeding a correlation). */
  readonly alerting: ReadonlySet<string>;
  readonly correlations: readonly CorrelationRule[];
  /** sha256 over the rule files' paths and bytes: which rules a snapshot was taken with. */
  readonly digest: string;
}

export interface RuleFile {
  /** Repository-relative path with forward slashes. */
  readonly path: string;
  readonly bytes: Uint8Array;
}

export const RULE_LIMITS = {
  maxFileBytes: 256 * 1024,
  maxDocumentsPerFile: 20,
  maxRules: 1_000,
} as const;

export const EMPTY_RULES: RuleSet = { detections: [], alerting: new Set(), correlations: [], digest: createHash("sha256").digest("hex") };

/** Rule files are `*.yml` or `*.yaml`. */
export function isRuleFile(path: string): boolean {
  return path.endsWith(".yml") || path.endsWith(".yaml");
}

/**
 * Loads, validates and compiles rule files. Every problem comes back as a positioned
 * Diagnostic; the rule set holds every rule that compiled, so one bad file never switches the
 * others off at run time. A correlation joins rules of its own file only, so each file can be
 * checked on its own (a pull request's check run reads only the files it changes).
 */
export function loadRules(files: readonly RuleFile[]): { readonly rules: RuleSet; readonly diagnostics: readonly Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const detections: DetectionRule[] = [];
  const correlations: CorrelationRule[] = [];
  const silent = new Set<string>();
  const digest = createHash("sha256");
  const byId = new Map<string, string>();

  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    digest.update(`${file.path}\n${createHash("sha256").update(file.bytes).digest("hex")}\n`);
    const loaded = loadFile(file);
    diagnostics.push(...loaded.diagnostics);
    for (const rule of [...loaded.detections, ...loaded.correlations]) {
      const other = byId.get(rule.id);
      if (other !== undefined && other !== rule.file) {
        diagnostics.push(diagnostic(rule.file, rule.span, "sigma/duplicate-id", `rule id ${rule.id} is also used in ${other}`, "Give each rule its own id; both rules run, and their alerts are told apart by file.", { severity: "warning" }));
      } else byId.set(rule.id, rule.file);
    }
    detections.push(...loaded.detections);
    correlations.push(...loaded.correlations);
    for (const key of loaded.silent) silent.add(key);
  }
  if (detections.length + correlations.length > RULE_LIMITS.maxRules) {
    diagnostics.push(diagnostic(files[0]?.path ?? "", FILE_START, "sigma/limit", `more than ${RULE_LIMITS.maxRules} rules`, "Remove rules you no longer need; only the first ones are loaded.", { severity: "error" }));
    detections.splice(RULE_LIMITS.maxRules);
    correlations.splice(Math.max(0, RULE_LIMITS.maxRules - detections.length));
  }
  const alerting = new Set(detections.filter((d) => !silent.has(d.key)).map((d) => d.key));
  return { rules: { detections, alerting, correlations, digest: digest.digest("hex") }, diagnostics: diagnostics.sort(compareDiagnostics) };
}

interface LoadedFile {
  readonly diagnostics: Diagnostic[];
  readonly detections: DetectionRule[];
  readonly correlations: CorrelationRule[];
  readonly silent: string[];
}

function loadFile(file: RuleFile): LoadedFile {
  const out: LoadedFile = { diagnostics: [], detections: [], correlations: [], silent: [] };
  if (file.bytes.byteLength > RULE_LIMITS.maxFileBytes) {
    out.diagnostics.push(diagnostic(file.path, FILE_START, "file/too-large", `rule file is ${file.bytes.byteLength} bytes; the limit is ${RULE_LIMITS.maxFileBytes}`, "Split the rules over several files."));
    return out;
  }
  const decoded = decodeText(file.path, file.bytes, RULE_LIMITS.maxFileBytes, "manifest");
  if (!decoded.ok) {
    out.diagnostics.push(...decoded.diagnostics);
    return out;
  }
  const parsed = parseYamlDocuments(file.path, decoded.text, DEFAULT_LIMITS, RULE_LIMITS.maxDocumentsPerFile);
  if (!parsed.ok) {
    out.diagnostics.push(...parsed.diagnostics);
    return out;
  }
  const documents = parsed.documents.filter((d) => d.value !== null);
  const drafts: CorrelationDraft[] = [];
  const ids = new Map<string, number>();
  documents.forEach((doc, i) => {
    const problems = new DocumentProblems(file.path, doc, documents.length > 1 ? `document ${i + 1}: ` : "");
    const compiled = compileDocument(doc.value, file.path, problems);
    out.diagnostics.push(...problems.list);
    if (!compiled) return;
    const seen = ids.get(compiled.id);
    if (seen !== undefined) {
      problems.list.length = 0;
      problems.add(["id"], "sigma/duplicate-id", `id ${compiled.id} is already used by document ${seen} of this file`, "Give each rule its own id.");
      out.diagnostics.push(...problems.list);
      return;
    }
    ids.set(compiled.id, i + 1);
    if (compiled.status === "deprecated" || compiled.status === "unsupported") {
      problems.list.length = 0;
      problems.add(["status"], "sigma/value", `rule ${compiled.id} is ${compiled.status}: it is not evaluated`, "Remove the file, or set another status to run it.", { severity: "warning" });
      out.diagnostics.push(...problems.list);
      return;
    }
    if (compiled.kind === "detection") out.detections.push(compiled);
    else drafts.push(compiled);
  });

  for (const draft of drafts) {
    const rules: DetectionRule[] = [];
    for (const ref of draft.refs) {
      const matches = out.detections.filter((d) => d.name === ref || d.id === ref);
      const before = draft.problems.list.length;
      if (matches.length === 0) {
        const isCorrelation = drafts.some((d) => d.name === ref || d.id === ref);
        draft.problems.add(
          ["correlation", "rules"],
          isCorrelation ? "sigma/unsupported" : "sigma/reference",
          isCorrelation ? `${ref} is a correlation; a correlation can join detection rules only` : `${ref} names no detection rule of this file`,
          isCorrelation ? "Reference the detection rules directly." : "Put the referenced rule in this file, after a --- line: a correlation joins rules of its own file.",
        );
      } else if (matches.length > 1) {
        draft.problems.add(["correlation", "rules"], "sigma/reference", `${ref} names more than one rule of this file`, "Give the rules distinct names and ids.");
      } else if (matches[0]) rules.push(matches[0]);
      out.diagnostics.push(...draft.problems.list.slice(before));
    }
    if (rules.length !== draft.refs.length) continue;
    const { refs: _refs, problems: _problems, ...rest } = draft;
    out.correlations.push({ ...rest, rules });
    if (!draft.generate) out.silent.push(...rules.map((r) => r.key));
  }
  out.diagnostics.push(...broadness(file.path, out));
  return out;
}

/**
 * Flags each rule that would alert on most events: a detection rule that alerts on its own and
 * matches more than half of the reference traffic, and a correlation whose every rule does and
 * whose threshold is a single event. Warnings, not errors: a broad rule is sometimes meant.
 */
function broadness(file: string, loaded: LoadedFile): Diagnostic[] {
  const out: Diagnostic[] = [];
  const silent = new Set(loaded.silent);
  const share = (rule: DetectionRule): number => {
    const view = new EventView();
    let hits = 0;
    for (const event of REFERENCE_EVENTS) if (rule.matches(view.reset(event, undefined))) hits++;
    return hits / REFERENCE_EVENTS.length;
  };
  const shares = new Map(loaded.detections.map((d) => [d.key, share(d)]));
  const flag = (rule: { id: string; span: Span }, s: number, what: string) =>
    out.push(
      diagnostic(file, rule.span, "sigma/too-broad", `rule ${rule.id} ${what} ${Math.round(s * 100)}% of Charter's reference traffic: it would fire on most events`, "Narrow the selections or add a filter (and not filter); try it first with charter detect --events FILE --rules DIR.", { severity: "warning" }),
    );
  for (const d of loaded.detections) {
    const s = shares.get(d.key) ?? 0;
    if (!silent.has(d.key) && s > BROAD_SHARE) flag(d, s, "matches");
  }
  for (const c of loaded.correlations) {
    const s = Math.min(...c.rules.map((r) => shares.get(r.key) ?? 0));
    if ((c.type === "event_count" || c.type === "value_count") && s > BROAD_SHARE && (c.threshold?.value ?? 0) <= (c.threshold?.op === "gt" ? 0 : 1)) flag(c, s, "joins rules that each match");
  }
  return out;
}
