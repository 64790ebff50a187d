import type { RequiredCheck } from "../schema-types/charter-policy.generated.js";
import type { CheckRunFact } from "./pull-facts.js";

/** GitHub Actions posts every workflow's jobs as this app; which workflow is told by the check suite. */
export const GITHUB_ACTIONS_SLUG = "github-actions";
/** GitHub Actions' app id on github.com. */
const GITHUB_ACTIONS_APP_ID = 15368;

export type CheckSource = { readonly app: string | number } | { readonly workflow: string };

/** A required check as the policy names it; `problem` says why it can never be satisfied as written. */
export interface CheckSpec {
  readonly name: string;
  readonly source: CheckSource | undefined;
  readonly problem: string | undefined;
}

export function checkSpec(entry: string | RequiredCheck): CheckSpec {
  if (typeof entry === "string") return { name: entry, source: undefined, problem: "it names no source" };
  const { name, app, workflow } = entry;
  if (app !== undefined && workflow !== undefined) return { name, source: undefined, problem: "it names both an app and a workflow; a check has one source" };
  if (workflow !== undefined) return { name, source: { workflow }, problem: undefined };
  if (app === undefined) return { name, source: undefined, problem: "it names no source" };
  // Binding to GitHub Actions as an app would accept a run from any workflow, including one the
  // pull request adds: Actions checks are bound to their workflow.
  if (app === GITHUB_ACTIONS_SLUG || app === GITHUB_ACTIONS_APP_ID) return { name, source: undefined, problem: "it names GitHub Actions as its app, which any workflow posts as" };
  return { name, source: { app }, problem: undefined };
}

/** How a source is named in explanations. */
export function describeSource(source: CheckSource): string {
  return "workflow" in source ? `workflow ${source.workflow}` : typeof source.app === "number" ? `app id ${source.app}` : `app ${source.app}`;
}

/** Who posted a run, as explanations name it. */
export function describePoster(run: CheckRunFact): string {
  if (run.app?.slug === GITHUB_ACTIONS_SLUG) return run.workflowRun?.path ? `workflow ${run.workflowRun.path}` : "GitHub Actions (no workflow run)";
  return run.app?.slug ? `app ${run.app.slug}` : run.app?.id != null ? `app id ${run.app.id}` : "an unknown app";
}

export function fromSource(run: CheckRunFact, source: CheckSource): boolean {
  if ("workflow" in source) return run.app?.slug === GITHUB_ACTIONS_SLUG && run.workflowRun?.path === source.workflow;
  if (typeof source.app === "number") return run.app?.id === source.app;
  return run.app?.slug?.toLowerCase() === source.app.toLowerCase();
}

/** What a policy entry should look like once it names its source, for fixes. */
export function checkFix(name: string): string {
  const quoted = JSON.stringify(name);
  return `bind it to the source that must post it: { name: ${quoted}, workflow: .github/workflows/<file>.yml } for a GitHub Actions job, or { name: ${quoted}, app: <app slug or id> } for another GitHub App`;
}
