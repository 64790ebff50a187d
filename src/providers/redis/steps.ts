/**
 * What a planned operation asks apply() to do. The engine hands operations back as it received
 * them, so apply() checks the shape again (and the user's name) before acting on one.
 */
export type Step =
  | { readonly type: "create-user"; readonly user: string; readonly marker: string; readonly rules: readonly string[] }
  /** Replaces every rule; the passwords of live leases are read again and kept. */
  | { readonly type: "set-rules"; readonly user: string; readonly agent: string; readonly rules: readonly string[] }
  | { readonly type: "set-marker"; readonly user: string; readonly marker: string }
  | { readonly type: "drop-password"; readonly user: string; readonly hash: string }
  | { readonly type: "kill-connections"; readonly user: string; readonly ids: readonly string[] }
  | { readonly type: "disable-user"; readonly user: string }
  | { readonly type: "kill-user"; readonly user: string }
  | { readonly type: "delete-user"; readonly user: string; readonly agent: string };

const TYPES: readonly string[] = ["create-user", "set-rules", "set-marker", "drop-password", "kill-connections", "disable-user", "kill-user", "delete-user"];

export function isStep(value: unknown): value is Step {
  return typeof value === "object" && value !== null && TYPES.includes(String((value as { type?: unknown }).type)) && typeof (value as { user?: unknown }).user === "string";
}
