// Faults injected on demand: server errors, secondary rate limits, latency, dropped webhooks.
// Each fault applies to the next N matching requests and then disarms itself.

export type Fault =
  | { readonly kind: "server-error"; readonly status?: 500 | 502 | 503 | 504 }
  | { readonly kind: "secondary-rate-limit"; readonly status?: 403 | 429; readonly retryAfterSeconds?: number }
  | { readonly kind: "latency"; readonly ms: number };

export interface FaultRule {
  readonly fault: Fault;
  /** An operationId ("pulls/get") or "graphql"; every request when absent. */
  readonly operation?: string;
  remaining: number;
}

export class FaultInjector {
  private readonly rules: FaultRule[] = [];
  private webhookDrops = 0;

  /** Arms `fault` for the next `count` requests (matching `operation` if given). */
  inject(fault: Fault, options: { count?: number; operation?: string } = {}): void {
    const count = options.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error(`github-sim: fault count must be a positive integer, got ${count}`);
    this.rules.push({ fault, remaining: count, ...(options.operation ? { operation: options.operation } : {}) });
  }

  /** The next `count` webhook deliveries are recorded as dropped and not sent. */
  dropWebhooks(count = 1): void {
    this.webhookDrops += count;
  }

  clear(): void {
    this.rules.length = 0;
    this.webhookDrops = 0;
  }

  /** Faults that apply to this request, consuming one use of each. Latency composes with the others. */
  take(operation: string): Fault[] {
    const hits: Fault[] = [];
    for (const rule of this.rules) {
      if (rule.remaining <= 0 || (rule.operation !== undefined && rule.operation !== operation)) continue;
      rule.remaining -= 1;
      hits.push(rule.fault);
    }
    for (let index = this.rules.length - 1; index >= 0; index -= 1) {
      if ((this.rules[index]?.remaining ?? 0) <= 0) this.rules.splice(index, 1);
    }
    return hits;
  }

  takeWebhookDrop(): boolean {
    if (this.webhookDrops <= 0) return false;
    this.webhookDrops -= 1;
    return true;
  }

  get pending(): number {
    return this.rules.reduce((sum, rule) => sum + rule.remaining, 0) + this.webhookDrops;
  }
}
