import { parsePermission } from "../permission.js";
import type { Lint } from "./lint-context.js";

export const permissionsLint: Lint = {
  reads: ["/tools", "/status"],
  run(ctx) {
  const retired = ctx.manifest.status === "retired";
  ctx.manifest.tools.forEach((tool, t) => {
    tool.permissions.forEach((raw, p) => {
      const pointer = `/tools/${t}/permissions/${p}`;
      if (retired) {
        ctx.report(pointer, "lifecycle/retired-with-permissions", `retired agent still holds permission "${raw}"`, "Remove every permission from a retired agent; retirement revokes all access.");
      }
      const parsed = parsePermission(raw);
      if (parsed.ok) return;
      if (parsed.kind === "wildcard") {
        ctx.report(pointer, "permission/wildcard", `permission "${raw}" is too broad: ${parsed.reason}`, "Grant only the specific resources the tool needs.");
      } else {
        ctx.report(pointer, "permission/invalid", `permission "${raw}" does not parse: ${parsed.reason}`, "Write <system>:<action>:<resource>[@<instance>], e.g. postgres:select:crm.public.customers@crm-prod.");
      }
    });
  });
  },
};
