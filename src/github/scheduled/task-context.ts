import type { Probot, ProbotOctokit } from "probot";
import type { KeyedQueue } from "../ops/keyed-queue.js";

/** An event handed back to the handlers as if GitHub had delivered it. */
export interface ReplayedEvent {
  /** The lane it runs in, as the job queue keys it. */
  readonly key: string;
  /** Stable per missed event, so that replicas and reruns that find the same one handle it once. */
  readonly deliveryId: string;
  readonly event: string;
  readonly payload: unknown;
}

/** What the scheduled tasks share with the app that runs them. */
export interface TaskContext {
  /** Without a signer key no evidence is written, so no scheduled task has anything to do. */
  readonly signingKey: string | undefined;
  readonly now: () => Date;
  readonly log: Probot["log"];
  /** An installation's Octokit, observed by the app's metrics. */
  readonly authed: (installationId: number) => Promise<ProbotOctokit>;
  /** The per-key queue: evidence appends of one repository take turns with the handlers' own. */
  readonly queue: KeyedQueue;
  /** Through the durable job queue when there is one, else dispatched directly. */
  readonly replay: (octokit: ProbotOctokit, event: ReplayedEvent) => Promise<void>;
}
