import type { IdentityMarker } from "./state.js";

/** What a planned operation asks apply() to do; apply() checks the shape again before acting on one. */
export type Step =
  | { readonly type: "set-marker"; readonly marker: IdentityMarker }
  /** Removes the password file's line for `user` and, when named, the lease's record. */
  | { readonly type: "drop-password"; readonly user: string; readonly lease: string | undefined; readonly revokeUntil: number | undefined }
  | { readonly type: "drop-identity"; readonly agent: string }
  /** Forgets revoked users whose cached passwords squid has certainly dropped. */
  | { readonly type: "forget-revoked"; readonly users: readonly string[] }
  | { readonly type: "write-config"; readonly config: string }
  | { readonly type: "reload" };

const TYPES: readonly string[] = ["set-marker", "drop-password", "drop-identity", "forget-revoked", "write-config", "reload"];

export function isStep(value: unknown): value is Step {
  return typeof value === "object" && value !== null && TYPES.includes(String((value as { type?: unknown }).type));
}
