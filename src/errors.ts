/**
 * Typed errors. Every error Charter raises on purpose carries a code from this fixed union, so
 * callers (the CLI's exit codes, the app's check-run text, tests) branch on the code, never on
 * message text. Problems found *in* user content are not errors: they are Diagnostics.
 */
export type CharterErrorCode =
  | "USAGE"
  | "NOT_FOUND"
  | "IO"
  | "LIMIT_EXCEEDED"
  | "INVALID_CONFIG"
  | "GITHUB_LIMIT"
  | "NOT_CANONICAL"
  | "MALFORMED_NOTE"
  | "INVALID_KEY"
  | "INVALID_SIGNATURE"
  | "OUT_OF_RANGE"
  | "INVALID_RECORD"
  | "CONFLICT"
  | "LEDGER_REWRITTEN"
  | "MISSING_SECRET"
  | "REVOKED"
  | "OVERLOADED"
  | "UNAUTHORIZED"
  /** A request asks for more than was approved (a wider GitHub token than the manifest grants). */
  | "FORBIDDEN"
  | "INVALID_INPUT"
  | "INTERNAL";

export class CharterError extends Error {
  override readonly name = "CharterError";
  readonly code: CharterErrorCode;
  /** A sentence that tells the user what to do about it. */
  readonly hint: string | undefined;

  constructor(code: CharterErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(`charter: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }
}

export function isCharterError(value: unknown): value is CharterError {
  return value instanceof CharterError;
}
