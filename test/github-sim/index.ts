// The GitHub simulator's public entry point for tests, the playground and benchmarks.

export { GitHubSimulator } from "./simulator.js";
export type { Files, OpenPullRequestOptions, PullRequestOpened, Pushed, SimulatorOptions } from "./simulator.js";
export type { CreateRepositoryOptions } from "./core.js";
export type { Fault } from "./faults.js";
export type { FileChange } from "./git-store.js";
export type { MergeMethod } from "./merge.js";
export type { Rejection, RejectionKind } from "./request-pipeline.js";
export type { DeliveryResult, WebhookDelivery } from "./webhooks.js";
export type * from "./state.js";
export { startApp, UnthrottledOctokit, type StartedApp } from "./probot-harness.js";
