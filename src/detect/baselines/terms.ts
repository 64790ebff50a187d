import type { TrailEvent } from "../../trail/event.js";

const ID_SEGMENT = /^(?:\d+|[0-9a-f]{8,}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/**
 * What "the same resource or action" means for first-seen: the permission the action needed,
 * with the parts that name one record generalized, so that reading customer 1041 after customer
 * 1040 is not new but reading a new table is.
 *
 *   postgres  the permission as is (tables and functions are few and named)
 *   redis     the key up to its last ":" segment: cache:customers:1041 → cache:customers:*
 *   http      path segments that are numbers, long hex or UUIDs become *: /v1/refunds/98 → /v1/refunds/*
 *   github    the permission as is (scope, level and repository)
 *   tool      tool:<name>
 *
 * Returns undefined when the event names nothing a baseline can learn (no resource).
 */
export function termOf(event: TrailEvent): string | undefined {
  const instance = event.instance ? `@${event.instance}` : "";
  switch (event.system) {
    case "tool":
      return event.tool === null ? undefined : `tool:${event.tool}`;
    case "redis": {
      if (event.resource === null) return undefined;
      const colon = event.resource.lastIndexOf(":");
      return `redis:${event.action}:${colon === -1 ? event.resource : `${event.resource.slice(0, colon)}:*`}${instance}`;
    }
    case "http": {
      if (event.resource === null) return undefined;
      const path = event.resource
        .split("?")[0]
        ?.split("/")
        .map((seg, i) => (i > 0 && ID_SEGMENT.test(seg) ? "*" : seg))
        .join("/");
      return `http:${event.action}:${path ?? event.resource}`;
    }
    case "postgres":
    case "github":
      return event.permission ?? (event.resource === null ? undefined : `${event.system}:${event.action}:${event.resource}${instance}`);
    case null:
      return undefined;
  }
}
