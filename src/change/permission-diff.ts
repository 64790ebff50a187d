import type { AgentManifest } from "../schema-types/agent-manifest.generated.js";
import { covers, type Permission, parsePermission } from "../manifest/permission.js";
import type { Change, Risk } from "./change-set.js";
import { compareText } from "./change-order.js";
import { oneLine } from "./display.js";

/** One permission string as the agent holds it: the union over its tools. */
interface Grant {
  readonly raw: string;
  /** Undefined for a string that does not parse (possible only at base: head is validated). */
  readonly parsed: Permission | undefined;
  readonly tools: readonly string[];
  /** Where it is first declared. */
  readonly pointer: string;
}

export interface PermissionDiffContext {
  readonly agent: string;
  readonly path: string;
  /** Whether the agent (at head) handles sensitive data: grants of access are then critical. */
  readonly sensitive: boolean;
  /** Head index of each tool, for pointing at the list a permission was removed from. */
  readonly headTools: ReadonlyMap<string, number>;
}

/**
 * Permissions compared over the whole agent: credentials are issued per agent, so what an agent
 * can reach is the union of its tools' permissions, and moving a grant between tools changes
 * nothing it can reach. A removed and an added permission on the same system and instance where
 * one covers the other are a single widening or narrowing, so reviewers see "read → write" instead
 * of an unrelated removal and addition.
 */
export function diffPermissions(before: AgentManifest | undefined, after: AgentManifest, ctx: PermissionDiffContext): Change[] {
  const base = grants(before);
  const head = grants(after);
  const removed = [...base.values()].filter((g) => !head.has(g.raw)).sort((x, y) => compareText(x.raw, y.raw));
  const added = [...head.values()].filter((g) => !base.has(g.raw)).sort((x, y) => compareText(x.raw, y.raw));
  const grantRisk: Risk = ctx.sensitive ? "critical" : "high";
  const out: Change[] = [];
  const paired = new Set<Grant>();

  for (const old of removed) {
    const wider = added.find((g) => !paired.has(g) && coversGrant(g, old));
    const narrower = wider ? undefined : added.find((g) => !paired.has(g) && coversGrant(old, g));
    const partner = wider ?? narrower;
    if (!partner) {
      out.push(change(ctx, "permission-removed", "low", removedPointer(old, ctx), old.raw, null, `permission removed from ${toolsText(old)}: ${oneLine(old.raw)}`));
      continue;
    }
    paired.add(partner);
    const verb = wider ? "widened" : "narrowed";
    out.push(
      change(ctx, wider ? "permission-widened" : "permission-narrowed", wider ? grantRisk : "low", partner.pointer, old.raw, partner.raw, `permission ${verb} on ${toolsText(partner)}: ${oneLine(old.raw)} → ${oneLine(partner.raw)}`),
    );
  }
  for (const grant of added) {
    if (!paired.has(grant)) out.push(change(ctx, "permission-added", grantRisk, grant.pointer, null, grant.raw, `permission added to ${toolsText(grant)}: ${oneLine(grant.raw)}`));
  }
  return out;
}

function grants(manifest: AgentManifest | undefined): Map<string, Grant> {
  const out = new Map<string, { raw: string; parsed: Permission | undefined; tools: string[]; pointer: string }>();
  manifest?.tools.forEach((tool, t) => {
    tool.permissions.forEach((raw, p) => {
      const seen = out.get(raw);
      if (seen) {
        if (!seen.tools.includes(tool.name)) seen.tools.push(tool.name);
        return;
      }
      const parsed = parsePermission(raw);
      out.set(raw, { raw, parsed: parsed.ok ? parsed.permission : undefined, tools: [tool.name], pointer: `/tools/${t}/permissions/${p}` });
    });
  });
  return out;
}

function coversGrant(a: Grant, b: Grant): boolean {
  return a.parsed !== undefined && b.parsed !== undefined && covers(a.parsed, b.parsed);
}

/** A removed permission no longer has a place at head: point at the list it left. */
function removedPointer(grant: Grant, ctx: PermissionDiffContext): string {
  for (const tool of grant.tools) {
    const index = ctx.headTools.get(tool);
    if (index !== undefined) return `/tools/${index}/permissions`;
  }
  return "/tools";
}

function toolsText(grant: Grant): string {
  return `${grant.tools.length === 1 ? "tool" : "tools"} ${oneLine(grant.tools.join(", "))}`;
}

function change(ctx: PermissionDiffContext, kind: Change["kind"], risk: Risk, pointer: string, before: string | null, after: string | null, summary: string): Change {
  return { kind, agent: ctx.agent, path: ctx.path, pointer, before, after, risk, summary };
}
