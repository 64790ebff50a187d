// Webhook deliveries as GitHub makes them: a real HTTP POST of the exact JSON body with
// X-GitHub-Event, X-GitHub-Delivery and an HMAC-SHA256 signature of those bytes. Every payload
// is checked against @octokit/webhooks-schemas before it leaves.

import { createHmac, randomUUID } from "node:crypto";
import { request } from "node:http";
import type { FaultInjector } from "./faults.js";
import { assertWebhookPayload } from "./webhook-schema.js";

export interface WebhookDelivery {
  readonly id: string;
  readonly event: string;
  readonly action: string | undefined;
  readonly payload: Readonly<Record<string, unknown>>;
  /** The exact bytes that were signed and sent; redelivery resends them unchanged. */
  readonly body: string;
  /** HTTP status of the last attempt; null when nothing answered (dropped, no target, network error). */
  status: number | null;
  dropped: boolean;
  error: string | null;
  attempts: number;
  responseBody: string;
}

export interface DeliveryResult {
  readonly id: string;
  readonly event: string;
  readonly action: string | undefined;
  readonly status: number | null;
  readonly dropped: boolean;
  readonly error: string | null;
}

/** GitHub stops waiting for a webhook answer after ten seconds. */
export const GITHUB_DELIVERY_TIMEOUT_MS = 10_000;

function signWebhook(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export class WebhookDispatcher {
  /** Where deliveries go, e.g. http://127.0.0.1:<port>/api/github/webhooks; unset: recorded only. */
  target: string | undefined;
  readonly deliveries: WebhookDelivery[] = [];
  private readonly hookId = Math.floor(100_000_000 + Math.random() * 800_000_000);

  constructor(
    readonly secret: string,
    private readonly appId: number,
    private readonly faults: FaultInjector,
    private readonly timeoutMs: number = GITHUB_DELIVERY_TIMEOUT_MS,
  ) {}

  async deliver(event: string, payload: Record<string, unknown> & { action?: string }): Promise<DeliveryResult> {
    assertWebhookPayload(event, payload);
    const delivery: WebhookDelivery = {
      id: randomUUID(),
      event,
      action: payload.action,
      payload,
      body: JSON.stringify(payload),
      status: null,
      dropped: false,
      error: null,
      attempts: 0,
      responseBody: "",
    };
    this.deliveries.push(delivery);
    if (this.faults.takeWebhookDrop()) {
      delivery.dropped = true;
      return summarize(delivery);
    }
    await this.send(delivery);
    return summarize(delivery);
  }

  /** Resends the same body under the same delivery id, as GitHub's "Redeliver" button does. */
  async redeliver(id: string): Promise<DeliveryResult> {
    const delivery = this.deliveries.find((candidate) => candidate.id === id);
    if (!delivery) throw new Error(`github-sim: no webhook delivery ${id}`);
    delivery.dropped = false;
    await this.send(delivery);
    return summarize(delivery);
  }

  private async send(delivery: WebhookDelivery): Promise<void> {
    delivery.attempts += 1;
    if (!this.target) {
      delivery.error = "no webhook target set";
      return;
    }
    try {
      const answer = await post(this.target, delivery.body, {
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/github-sim",
        "x-github-event": delivery.event,
        "x-github-delivery": delivery.id,
        "x-github-hook-id": String(this.hookId),
        "x-github-hook-installation-target-id": String(this.appId),
        "x-github-hook-installation-target-type": "integration",
        "x-hub-signature": `sha1=${createHmac("sha1", this.secret).update(delivery.body).digest("hex")}`,
        "x-hub-signature-256": signWebhook(this.secret, delivery.body),
      }, this.timeoutMs);
      delivery.status = answer.status;
      delivery.responseBody = answer.body;
      delivery.error = null;
    } catch (error: unknown) {
      delivery.status = null;
      delivery.error = error instanceof Error ? error.message : String(error);
    }
  }
}

/**
 * One POST on a connection of its own, as GitHub opens one per delivery. A pooled keep-alive
 * connection (fetch's default) can be closed by the server's idle timeout just as the next
 * delivery is written on it, which fails that delivery with no answer on a slow machine.
 */
function post(target: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(target, { method: "POST", agent: false, headers: { ...headers, "content-length": String(Buffer.byteLength(body)) }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${String(timeoutMs)} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

function summarize(delivery: WebhookDelivery): DeliveryResult {
  return {
    id: delivery.id,
    event: delivery.event,
    action: delivery.action,
    status: delivery.status,
    dropped: delivery.dropped,
    error: delivery.error,
  };
}
