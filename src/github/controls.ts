import type { ProbotOctokit } from "probot";
import type { ControlsStatus } from "../evidence/site/site-state.js";
import { CHECK_NAME } from "./publish-check-run.js";

export interface ControlsTarget {
  readonly owner: string;
  readonly repo: string;
  readonly defaultBranch: string;
  readonly evidenceBranch: string;
}

interface BranchRule {
  readonly type: string;
  readonly parameters?: { readonly required_status_checks?: readonly { readonly context: string }[] };
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

  constructor(private readonly now: () => Date) {}

  /** The controls' state, and whether it was read just now (so that a warning is raised once per reading). */
  async observe(octokit: ProbotOctokit, target: ControlsTarget): Promise<{ readonly status: ControlsStatus; readonly fresh: boolean }> {
    const key = `${target.owner}/${target.repo}`.toLowerCase();
    const cached = this.cache.get(key);
    const now = this.now().getTime();
    if (cached && now - cached.at < TTL_MS) return { status: cached.status, fresh: false };
    const status = await observeControls(octokit, target, this.now());
    this.cache.set(key, { at: now, status });
    return { status, fresh: true };
  }
}

export async function observeControls(octokit: ProbotOctokit, target: ControlsTarget, now: Date): Promise<ControlsStatus> {
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
    const classic = defaultBranch !== "missing" && defaultBranch.requiredChecks.includes(CHECK_NAME);
    const ruleset = defaultRules.some((r) => r.type === "required_status_checks" && (r.parameters?.required_status_checks ?? []).some((c) => c.context === CHECK_NAME));
    checkRequired = classic || ruleset;
    if (!checkRequired) {
      notes.push(`Require the "${CHECK_NAME}" status check on ${target.defaultBranch} (branch protection or a ruleset); until then a pull request can merge without the approvals Charter asks for, and only an exception record shows it afterwards.`);
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

export function controlsHealthy(status: ControlsStatus): boolean {
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

type BranchState = { readonly protected: boolean; readonly requiredChecks: readonly string[] } | "missing" | "error";

async function readBranch(octokit: ProbotOctokit, target: ControlsTarget, branch: string): Promise<BranchState> {
  try {
    const { data } = await octokit.rest.repos.getBranch({ owner: target.owner, repo: target.repo, branch });
    const required = data.protection.required_status_checks;
    const checks = [...(required?.contexts ?? []), ...(required?.checks ?? []).map((c) => c.context)];
    return { protected: data.protected, requiredChecks: [...new Set(checks)] };
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
