import { mdCode, mdLink, mdTable, mdText, mdUrl } from "./markdown.js";
import { INVENTORY_CSV_PATH, INVENTORY_JSON_PATH, INVENTORY_MD_PATH, pagePath, populationPath, README_PATH, TRAIL_PATH, ALERTS_PATH } from "./site-paths.js";
import { READINESS_PATH } from "./readiness-page.js";
import type { ControlsStatus, SiteEntry, SiteState } from "./site-state.js";

/** What the auditor replaces with the key the operator published; the rest of the commands run as written. */
export const VERIFIER_KEY_PLACEHOLDER = "<the verifier key from the operator's documentation>";

export interface ReadmeInput {
  readonly state: SiteState;
  readonly repository: string;
  readonly repositoryUrl: string;
  readonly branch: string;
  readonly size: number;
  /** Merkle root of the log after this append, hex. */
  readonly root: string;
  readonly publicKey: string;
  readonly agents: number;
}

/** The branch's front page: what it is, how to check it, and where to start sampling. */
export function renderReadme(input: ReadmeInput): string {
  const { state } = input;
  const self = README_PATH;
  const entryRow = (e: SiteEntry): string[] => [
    mdLink(String(e.seq), self, pagePath(e.seq)),
    e.kind,
    mdText(e.title, 120),
    mdText(e.time),
    mdText(e.outcome),
    e.pullRequest === null ? "" : mdUrl(`#${e.pullRequest}`, `${input.repositoryUrl}/pull/${e.pullRequest}`),
    e.issue === null ? "" : mdUrl(`#${e.issue}`, `${input.repositoryUrl}/issues/${e.issue}`),
  ];
  const header = ["Record", "Kind", "What", "Time", "Outcome", "Pull request", "Issue"];
  return [
    `# Charter evidence for ${mdText(input.repository)}`,
    "",
    "This branch is the change-control evidence of the agents governed in this repository. Charter writes it; nobody else",
    "should. Every record is RFC 8785 canonical JSON under `records/`, holds the SHA-256 of the record before it, and the",
    "signed checkpoint (`checkpoint`, C2SP signed-note, Ed25519) commits to the RFC 6962 Merkle root of all of them. The",
    "Markdown pages are views of the records for reading; the records are the evidence.",
    "",
    "## Verify it yourself",
    "",
    "You need git, Node.js 20 or later, and the verifier: `agent-charter-verifier.tgz` and `agent-charter-verifier.tgz.sha256`,",
    "assets of the Charter release the operator runs (`npm run pack:verifier` builds this package from Charter's source).",
    "It is `charter verify` alone, with nothing to fetch from a registry. Check that the SHA-256 in the `.sha256` file is the",
    "one published with the release, then, in the directory holding both files:",
    "",
    "```sh",
    "sha256sum -c agent-charter-verifier.tgz.sha256",
    "npm install -g ./agent-charter-verifier.tgz",
    `git clone --branch ${input.branch} ${input.repositoryUrl}.git evidence && cd evidence`,
    `charter verify --key "${VERIFIER_KEY_PLACEHOLDER}" --save-checkpoint ../charter-checkpoint`,
    "```",
    "",
    "The clone brings the whole repository: `charter verify` checks that every commit touching agents on the default branch is",
    "covered by a record, and reads the witnesses' cosignatures from the tags `charter-witness/*`. Once verified, the",
    "checkpoint is saved in `charter-checkpoint` beside the clone (nothing is saved unless verified). On each later visit,",
    "from the same directory:",
    "",
    "```sh",
    "cd evidence && git pull --ff-only",
    `charter verify --key "${VERIFIER_KEY_PLACEHOLDER}" --trusted-checkpoint ../charter-checkpoint --save-checkpoint ../charter-checkpoint`,
    "```",
    "",
    "which fails if the log no longer contains what you verified last time (a rewritten branch also makes `git pull",
    "--ff-only` refuse). Pass the key you were given out of band, never the copy in `public-key` on this branch: whoever can",
    "rewrite the branch can replace that file too, and with only that key `charter verify` calls the records internally",
    "consistent, not verified (exit 3). Exit 0 is verified, 1 not verified (the first problem names the record), 2 a usage",
    "error. It also remembers the key and the tree in your own trust file, so a later visit fails if the key changed or",
    "history was rewritten since. `--witness KEY` also requires the cosignatures of witnesses you trust.",
    "",
    mdTable(
      ["Fact", "Value"],
      [
        ["Records", String(input.size)],
        ["Merkle root", mdCode(input.root)],
        ["Public key", mdCode(input.publicKey)],
        ["Agents in the inventory", String(input.agents)],
      ],
    ),
    "## Controls around Charter",
    "",
    ...controlsLines(state.controls),
    "",
    "## Records by kind",
    "",
    mdTable(
      ["Kind", "Count"],
      Object.keys(state.counts)
        .sort()
        .map((k) => [k, String(state.counts[k] ?? 0)]),
    ),
    "## Latest records",
    "",
    mdTable(header, state.latest.map(entryRow)),
    "## Emergency changes awaiting retro-review",
    "",
    mdTable(header, state.awaitingRetroReview.map(entryRow)),
    "## Latest exceptions",
    "",
    mdTable(header, state.exceptions.map(entryRow)),
    "## The population and the inventory",
    "",
    `- Agent inventory: ${mdLink("Markdown", self, INVENTORY_MD_PATH)}, ${mdLink("CSV", self, INVENTORY_CSV_PATH)}, ${mdLink("JSON", self, INVENTORY_JSON_PATH)}.`,
    "- Every change and exception, one CSV per month of GitHub's merge time (together, the population to sample from;",
    "  `charter evidence export --since … --until …` produces the same rows for any period):",
    ...state.populationMonths.map((m) => `  - ${mdLink(m, self, populationPath(m))}`),
    "- One page per record under `pages/`, one history page per agent under `agents/`.",
    ...(state.trail.origins.length === 0
      ? []
      : [`- The action trail: ${mdLink("segments, checkpoints, coverage per source and events per agent and data class", self, TRAIL_PATH)}.`]),
    ...(state.alerts.open.length === 0 ? [] : [`- Alerts: ${mdLink("raised and evaluated per month, time to evaluation, the alerts still open", self, ALERTS_PATH)}.`]),
    ...((state.counts["readiness"] ?? 0) === 0 ? [] : [`- SOC 2 readiness: ${mdLink("the latest recorded report, item by item, and the history of every report", self, READINESS_PATH)}.`]),
    "",
  ].join("\n");
}

function controlsLines(controls: ControlsStatus | null): string[] {
  if (controls === null) return ["_Not checked yet._"];
  const state = (value: boolean | null, on: string, off: string): string => (value === null ? "⚠️ could not be read" : value ? `✅ ${on}` : `❌ ${off}`);
  return [
    mdTable(
      ["Control", "State"],
      [
        [`The ${mdCode("Charter")} check is required to merge into ${mdCode(controls.defaultBranch)}`, state(controls.checkRequired, "required", "not required: merges can skip approval")],
        [`${mdCode(controls.evidenceBranch)} refuses force-pushes and deletion`, state(controls.evidenceProtected, "protected", "not protected: history could be rewritten")],
      ],
    ),
    `As observed at ${mdText(controls.checkedAt)}.`,
    ...controls.notes.map((n) => `- ${mdText(n, 500)}`),
  ];
}
