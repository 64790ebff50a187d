// actions/*: the jobs of a workflow run. A job is a check run in its workflow run's suite; a
// run a step created through the checks API sits in some Actions suite but is no job.

import { notFound, paginate } from "../http.js";
import { checkRunUrl } from "../render/check-run.js";
import { param, repoFor, type RestHandler } from "./context.js";

const listJobsForWorkflowRun: RestHandler = (context) => {
  const repo = repoFor(context);
  const { core, query } = context;
  const workflowRun = core.state.workflowRuns.get(Number(param(context, "run_id")));
  if (workflowRun?.repo !== repo) throw notFound();
  const ids = query["filter"] === "all" ? workflowRun.attempts.flat() : (workflowRun.attempts.at(-1) ?? []);
  const api = `${core.urls.api}/repos/${repo.fullName}`;
  const jobs = ids.flatMap((id) => {
    const run = core.state.checkRuns.get(id);
    if (!run) return [];
    const attempt = workflowRun.attempts.findIndex((a) => a.includes(id)) + 1;
    return [
      {
        id: run.id,
        run_id: workflowRun.id,
        run_url: `${api}/actions/runs/${workflowRun.id}`,
        run_attempt: attempt,
        node_id: core.state.nodeId("WorkflowJob", run.id),
        head_sha: run.headSha,
        url: `${api}/actions/jobs/${run.id}`,
        html_url: `${core.urls.web}/${repo.fullName}/actions/runs/${workflowRun.id}/job/${run.id}`,
        status: run.status === "completed" ? "completed" : run.status === "in_progress" ? "in_progress" : "queued",
        conclusion: run.conclusion,
        created_at: run.startedAt,
        started_at: run.startedAt,
        completed_at: run.completedAt,
        name: run.name,
        steps: [],
        check_run_url: checkRunUrl(core.urls, run),
        labels: ["ubuntu-latest"],
        runner_id: null,
        runner_name: null,
        runner_group_id: null,
        runner_group_name: null,
        workflow_name: workflowRun.path.replace(/^.*\//, ""),
        head_branch: workflowRun.suite.headBranch,
      },
    ];
  });
  const page = paginate(jobs, query, context.url);
  return { status: 200, headers: page.headers, body: { total_count: jobs.length, jobs: page.items } };
};

export const actionsHandlers: Record<string, RestHandler> = {
  "actions/list-jobs-for-workflow-run": listJobsForWorkflowRun,
};
