import type { Context } from "probot";

/** The webhook event names Probot knows, from its own Context type (its dependency @octokit/webhooks declares them). */
type EventName = Context["name"];

type Handler = (context: Context) => Promise<void>;

/**
 * Charter's handlers, by event and action, apart from where the events come from: straight from
 * Probot's webhook route (one process, nothing stored), or from the durable job queue's workers,
 * which rebuild each event's context from the stored job. Either way the same handlers run.
 */
export class EventRouter {
  private readonly handlers = new Map<string, Handler[]>();

  on<E extends EventName>(events: E | readonly E[], handler: (context: Context<E>) => Promise<void>): void {
    for (const event of typeof events === "string" ? [events] : events) {
      this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]);
    }
  }

  /**
   * Work Charter gives itself (a reconciler's backfill) under a name no webhook has: stored as a
   * job and run by the same workers, in the same order, as the webhook it stands in for.
   */
  onInternal(event: `charter.${string}`, handler: Handler): void {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]);
  }

  /** Whether any handler wants this event (so that others are not stored as jobs at all). */
  wants(name: string, action: string | undefined): boolean {
    return this.handlers.has(name) || (action !== undefined && this.handlers.has(`${name}.${action}`));
  }

  async dispatch(context: Context): Promise<void> {
    const action = (context.payload as { action?: unknown }).action;
    const matching = [...(this.handlers.get(context.name) ?? []), ...(typeof action === "string" ? (this.handlers.get(`${context.name}.${action}`) ?? []) : [])];
    for (const handler of matching) await handler(context);
  }
}
