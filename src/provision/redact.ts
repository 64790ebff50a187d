/**
 * Removes credentials from free text before it reaches a plan, a record or a terminal. Operation
 * targets and finding details are built by providers from names only, but error messages come
 * from drivers and servers, which sometimes quote a connection string or a statement with a
 * password in it. Evidence is permanent and public to auditors: a secret copied there cannot be
 * taken back.
 */
const RULES: readonly (readonly [RegExp, string])[] = [
  // scheme://user:password@host
  [/\b([a-z][a-z0-9+.-]{1,20}:\/\/[^\s:/@]{0,100}):[^\s@/]{1,200}@/gi, "$1:[redacted]@"],
  // password=x, "password": "x"
  [/\b(password|passwd|pwd|secret|token)("?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;)]+)/gi, "$1$2[redacted]"],
  // PASSWORD 'x' (SQL), but not prose such as "password authentication failed"
  [/\b(password)(\s+)('[^']*'|"[^"]*")/gi, "$1$2[redacted]"],
  // A JSON Web Token: three base64url parts, the first two starting with eyJ ({").
  [/\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+/g, "[redacted token]"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g, "[redacted key]"],
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out;
}
