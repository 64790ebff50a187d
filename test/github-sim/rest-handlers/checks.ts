// checks/*: creating, updating, listing and reading check runs. The OpenAPI schema already
// refuses more than 50 annotations per request; here annotations accumulate across requests.

import { HttpError, notFound, paginate, unprocessable } from "../http.js";
import { restCheckRun } from "../render/check-run.js";
import type { Annotation, CheckConclusion, CheckRun, CheckStatus } from "../state.js";
import { param, repoFor, type RestContext, type RestHandler } from "./context.js";

interface CheckRunFields {
  name?: string;
  details_url?: string;
  external_id?: string;
  status?: CheckStatus;
  started_at?: string;
  conclusion?: CheckConclusion;
  completed_at?: string;
  output?: { title?: string; summary?: string; text?: string; annotations?: Annotation[] };
  actions?: { label: string; description: string; identifier: string }[];
}

/** GitHub stores timestamps at second precision in UTC. */
function normalizeTime(value: string): string {
  return `${new Date(value).toISOString().slice(0, 19)}Z`;
}

function render(context: RestContext, run: CheckRun) {
  const { core } = context;
  return restCheckRun(core.urls, run, core.suiteAppJson(run.suite), core.pullsForCheck(run.repo, run.headSha));
}

/**
 * Applies create/update fields with GitHub's rules (a conclusion completes the run). Works on a
 * copy so that a refused update leaves the run as it was.
 */
function apply(context: RestContext, target: CheckRun, fields: CheckRunFields): void {
  const now = context.core.state.now();
  const run: CheckRun = { ...target, output: { ...target.output, annotations: [...target.output.annotations] } };
  if (fields.name !== undefined) run.name = fields.name;
  if (fields.details_url !== undefined) run.detailsUrl = fields.details_url;
  if (fields.external_id !== undefined) run.externalId = fields.external_id;
  if (fields.started_at !== undefined) run.startedAt = normalizeTime(fields.started_at);
  if (fields.status !== undefined) run.status = fields.status;
  if (fields.conclusion !== undefined) {
    run.conclusion = fields.conclusion;
    run.status = "completed";
  }
  if (run.status === "completed") {
    if (run.conclusion === null) {
      throw unprocessable("Invalid request.\n\n\"conclusion\" wasn't supplied.", [
        { resource: "CheckRun", field: "conclusion", code: "missing_field" },
      ]);
    }
    run.completedAt = fields.completed_at !== undefined ? normalizeTime(fields.completed_at) : (run.completedAt ?? now);
  } else if (fields.status !== undefined) {
    run.conclusion = null;
    run.completedAt = null;
  }
  if (fields.output) {
    if (fields.output.title !== undefined) run.output.title = fields.output.title;
    if (fields.output.summary !== undefined) run.output.summary = fields.output.summary;
    if (fields.output.text !== undefined) run.output.text = fields.output.text;
    run.output.annotations.push(...(fields.output.annotations ?? []));
  }
  if (fields.actions !== undefined) run.actions = fields.actions;
  Object.assign(target, run);
}

const create: RestHandler = async (context) => {
  const repo = repoFor(context);
  const { core } = context;
  // The OpenAPI validation already guaranteed these shapes.
  const fields = context.body as unknown as CheckRunFields & { head_sha: string; name: string };
  const commit = await core.git(repo).readCommit(fields.head_sha);
  if (!commit || commit.sha !== fields.head_sha.toLowerCase()) {
    throw unprocessable(`No commit found for SHA: ${fields.head_sha}`);
  }
  const id = core.state.allocateId();
  const now = core.state.now();
  const run: CheckRun = {
    id,
    nodeId: core.state.nodeId("CheckRun", id),
    repo,
    suite: core.suiteFor(repo, commit.sha),
    headSha: commit.sha,
    name: fields.name,
    status: "queued",
    conclusion: null,
    startedAt: now,
    completedAt: null,
    externalId: null,
    detailsUrl: null,
    output: { title: null, summary: null, text: null, annotations: [] },
    actions: [],
  };
  apply(context, run, fields);
  core.state.checkRuns.set(id, run);
  run.suite.updatedAt = now;
  return { status: 201, body: render(context, run) };
};

function runFor(context: RestContext): CheckRun {
  const repo = repoFor(context);
  const run = context.core.state.checkRuns.get(Number(param(context, "check_run_id")));
  if (run?.repo !== repo) throw notFound();
  return run;
}

const update: RestHandler = (context) => {
  const run = runFor(context);
  apply(context, run, context.body);
  run.suite.updatedAt = context.core.state.now();
  return { status: 200, body: render(context, run) };
};

const get: RestHandler = (context) => ({ status: 200, body: render(context, runFor(context)) });

const listForRef: RestHandler = async (context) => {
  const repo = repoFor(context);
  const { core } = context;
  const ref = param(context, "ref");
  const sha = await core.git(repo).resolveCommit(ref);
  if (!sha) throw new HttpError(422, `No commit found for SHA: ${ref}`, { record: true });
  const { query } = context;
  let runs = [...core.state.checkRuns.values()].filter((run) => run.repo === repo && run.headSha === sha);
  if (typeof query["check_name"] === "string") runs = runs.filter((run) => run.name === query["check_name"]);
  if (typeof query["status"] === "string") runs = runs.filter((run) => run.status === query["status"]);
  if (query["app_id"] !== undefined) runs = runs.filter((run) => run.suite.app.id === Number(query["app_id"]));
  // Newest first; "latest" (the default) keeps only the most recent run of each name in each
  // suite: a re-run replaces its predecessor, another app's run of the same name does not.
  runs.sort((a, b) => b.id - a.id);
  if (query["filter"] !== "all") {
    const seen = new Set<string>();
    runs = runs.filter((run) => {
      const key = `${run.suite.id}\n${run.name}`;
      return !seen.has(key) && Boolean(seen.add(key));
    });
  }
  const page = paginate(runs, query, context.url);
  return {
    status: 200,
    headers: page.headers,
    body: { total_count: runs.length, check_runs: page.items.map((run) => render(context, run)) },
  };
};

export const checksHandlers: Record<string, RestHandler> = {
  "checks/create": create,
  "checks/update": update,
  "checks/get": get,
  "checks/list-for-ref": listForRef,
};
