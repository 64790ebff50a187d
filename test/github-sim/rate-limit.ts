// Primary rate limits per installation (and one bucket for the app's JWT), with the headers
// GitHub sends on every response so clients that pace themselves see real numbers.

export type RateResource = "core" | "graphql";

interface Bucket {
  used: number;
  resetAt: number;
}

export interface RateLimitSnapshot {
  readonly limit: number;
  readonly remaining: number;
  readonly used: number;
  readonly reset: number;
  readonly resource: RateResource;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: number,
    private readonly clock: () => Date,
  ) {}

  /** Spends `cost` from the caller's bucket; `allowed` is false once it is empty, as GitHub answers 403. */
  spend(caller: string, resource: RateResource, cost = 1): { allowed: boolean; snapshot: RateLimitSnapshot } {
    const now = Math.floor(this.clock().getTime() / 1000);
    const key = `${caller}:${resource}`;
    let bucket = this.buckets.get(key);
    if (!bucket || bucket.resetAt <= now) {
      bucket = { used: 0, resetAt: now + 3600 };
      this.buckets.set(key, bucket);
    }
    const allowed = bucket.used + cost <= this.limit;
    if (allowed) bucket.used += cost;
    return { allowed, snapshot: this.snapshot(bucket, resource) };
  }

  peek(caller: string, resource: RateResource): RateLimitSnapshot {
    const now = Math.floor(this.clock().getTime() / 1000);
    return this.snapshot(this.buckets.get(`${caller}:${resource}`) ?? { used: 0, resetAt: now + 3600 }, resource);
  }

  private snapshot(bucket: Bucket, resource: RateResource): RateLimitSnapshot {
    return {
      limit: this.limit,
      remaining: Math.max(0, this.limit - bucket.used),
      used: bucket.used,
      reset: bucket.resetAt,
      resource,
    };
  }
}

export function rateLimitHeaders(snapshot: RateLimitSnapshot): Record<string, string> {
  return {
    "x-ratelimit-limit": String(snapshot.limit),
    "x-ratelimit-remaining": String(snapshot.remaining),
    "x-ratelimit-used": String(snapshot.used),
    "x-ratelimit-reset": String(snapshot.reset),
    "x-ratelimit-resource": snapshot.resource,
  };
}
