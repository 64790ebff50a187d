import type { ProbotOctokit } from "probot";
import type { ControlsStatus } from "../../evidence/site/site-state.js";
import { CHECK_NAME } from "../pull-request/publish-check-run.js";

export interface ControlsTarget {
  readonly owner: string;
  readonly repo: string;
  readonly defaultBranch: string;
  readonly evidenceBranch: string;
}

interface BranchRule {
  readonly type: string;
  readonly parameters?: { readonly required_status_checks?: readonly { readonly context: string; readonly integration_id?: number | null }[] };
}

/** Re-checking at most hourly keeps the cost per merge at zero requests most of the time. */
const TTL_MS = 60 * 60 * 1000;
export const CONTROLS_LABEL = "charter-controls";

/**
 * Charter's evidence is only as good as two settings it does not own: merging must require its
 * check, and its evidence branch must refuse force-pushes and deletion. Both are read with the
 * permissions Charter already has (contents and metadata): a branch's classic protection shows
 * its required checks, and the rules endpoint lists what rulesets enforce. Classic protection
 * refuses force-pushes and deletion unless an administrator allowed them, which only the
 * Administration permission could see; the README says so rather than claim more.
 *
 * Four requests, cached per repository for an hour.
 */
export class ControlsObserver {
  private readonly cache = new Map<string, { readonly at: number; readonly status: ControlsStatus }>();

  constructor(
    private readonly now: () => Date,
    private readonly appId: number | undefined,
  ) {}

  /** The controls' state, and whether it was read just now (so that a warning is raised once per reading). */
  async observe(octokit: ProbotOctokit, target: ControlsTarget): Promise<{ readonly status: ControlsStatus; readonly fresh: boolean }> {
    const key = `${target.owner}/${target.repo}`.toLowerCase();
    const cached = this.cache.get(key);
    const now = this.now().getTime();
    if (cached && now - cached.at < TTL_MS) return { status: cached.status, fresh: false };
    const status = await observeControls(octokit, target, this.now(), this.appId);
    this.cache.set(key, { at: now, status });
    return { status, fresh: true };
  }
}

/**
 * The check must be required with Charter's app as its expected source: a required "Charter"
 * check that any source may satisfy is satisfied by a workflow job of that name, which a pull
 * request can add itself. Without its own app id (a trial without APP_ID) Charter cannot tell.
 */
async function observeControls(octokit: ProbotOctokit, target: ControlsTarget, now: Date, appId: number | undefined): Promise<ControlsStatus> {
  const notes: string[] = [];
  const [defaultBranch, defaultRules, evidenceBranch, evidenceRules] = await Promise.all([
    readBranch(octokit, target, target.defaultBranch),
    readRules(octokit, target, target.defaultBranch),
    readBranch(octokit, target, target.evidenceBranch),
    readRules(octokit, target, target.evidenceBranch),
  ]);

  let checkRequired: boolean | null;
  if (defaultBranch === "error" || defaultRules === null) {
    checkRequired = null;
    notes.push(`Could not read the protection of ${target.defaultBranch}; Charter cannot tell whether its check is required.`);
  } else {
    const bound = (source: number | null | undefined) => appId === undefined || source === appId;
    const required = [
      ...(defaultBranch === "missing" ? [] : defaultBranch.requiredChecks),
      ...defaultRules.flatMap((r) => (r.type === "required_status_checks" ? (r.parameters?.required_status_checks ?? []).map((c) => ({ context: c.context, appId: c.integration_id ?? null })) : [])),
    ].filter((c) => c.context === CHECK_NAME);
    checkRequired = required.some((c) => bound(c.appId));
    if (required.length === 0) {
      notes.push(`Require the "${CHECK_NAME}" status check on ${target.defaultBranch} (branch protection or a ruleset); until then a pull request can merge without the approvals Charter asks for, and only an exception record shows it afterwards.`);
    } else if (!checkRequired) {
      notes.push(`The "${CHECK_NAME}" check is required on ${target.defaultBranch} from any source: set its expected source to Charter's GitHub App (app id ${String(appId)}) in the ruleset or branch protection, or a workflow job named "${CHECK_NAME}" (one a pull request adds itself) satisfies it.`);
    }
  }

  let evidenceProtected: boolean | null;
  if (evidenceBranch === "error" || evidenceRules === null) {
    evidenceProtected = null;
    notes.push(`Could not read the protection of ${target.evidenceBranch}.`);
  } else {
    const rules = new Set(evidenceRules.map((r) => r.type));
    const byRuleset = rules.has("deletion") && rules.has("non_fast_forward");
    const classic = evidenceBranch !== "missing" && evidenceBranch.protected;
    evidenceProtected = byRuleset || classic;
    if (!evidenceProtected) {
      notes.push(`Protect ${target.evidenceBranch} against force-pushes and deletion (a ruleset with "Restrict deletions" and "Block force pushes", or branch protection), letting only Charter's app push; verification still detects a rewrite, but protection prevents it.`);
    } else if (!byRuleset) {
      notes.push(`${target.evidenceBranch} has classic branch protection, which refuses force-pushes and deletion unless an administrator allowed them; that exception is not visible to Charter.`);
    }
  }
  return { checkedAt: now.toISOString(), defaultBranch: target.defaultBranch, checkRequired, evidenceBranch: target.evidenceBranch, evidenceProtected, notes };
}

function controlsHealthy(status: ControlsStatus): boolean {
  return status.checkRequired === true && status.evidenceProtected === true;
}

/**
 * Opens one warning issue while a control is off. An open issue with Charter's label means the
 * warning already stands; once closed, the next observation that finds the control still off
 * opens a new one.
 */
export async function warnAboutControls(octokit: ProbotOctokit, target: ControlsTarget, status: ControlsStatus): Promise<number | null> {
  if (controlsHealthy(status)) return null;
  const { data: open } = await octokit.rest.issues.listForRepo({ owner: target.owner, repo: target.repo, state: "open", labels: CONTROLS_LABEL, per_page: 1 });
  if (open.length > 0) return null;
  const { data } = await octokit.rest.issues.create({
    owner: target.owner,
    repo: target.repo,
    title: "Charter: controls that protect the evidence are not switched on",
    labels: [CONTROLS_LABEL],
    body: [
      "<!-- charter:controls -->",
      "Charter records every change to the agents in this repository, but an auditor relies on two settings that only a repository administrator can switch on:",
      "",
      `- The \`${CHECK_NAME}\` check required on \`${target.defaultBranch}\`: ${status.checkRequired === null ? "could not be read" : status.checkRequired ? "on" : "**off**"}.`,
      `- \`${target.evidenceBranch}\` protected from force-pushes and deletion: ${status.evidenceProtected === null ? "could not be read" : status.evidenceProtected ? "on" : "**off**"}.`,
      "",
      ...status.notes.map((n) => `- ${n}`),
      "",
      "The evidence branch's README shows the state Charter last observed. Close this issue once both are on.",
    ].join("\n"),
  });
  return data.number;
}

type BranchState = { readonly protected: boolean; readonly requiredChecks: readonly { readonly context: string; readonly appId: number | null }[] } | "missing" | "error";

async function readBranch(octokit: ProbotOctokit, target: ControlsTarget, branch: string): Promise<BranchState> {
  try {
    const { data } = await octokit.rest.repos.getBranch({ owner: target.owner, repo: target.repo, branch });
    const required = data.protection.required_status_checks;
    // `contexts` is the legacy list, bound to no source; `checks` carries each one's app.
    const checks = (required?.checks ?? []).map((c) => ({ context: c.context, appId: c.app_id ?? null }));
    const listed = new Set(checks.map((c) => c.context));
    for (const context of required?.contexts ?? []) if (!listed.has(context)) checks.push({ context, appId: null });
    return { protected: data.protected, requiredChecks: checks };
  } catch (error) {
    return (error as { status?: number }).status === 404 ? "missing" : "error";
  }
}

async function readRules(octokit: ProbotOctokit, target: ControlsTarget, branch: string): Promise<BranchRule[] | null> {
  try {
    const { data } = await octokit.rest.repos.getBranchRules({ owner: target.owner, repo: target.repo, branch, per_page: 100 });
    return data as BranchRule[];
  } catch {
    return null;
  }
}
