import { type Diagnostic, diagnostic } from "./diagnostic.js";
import { spanAt } from "./text-position.js";

/**
 * Well-known credential formats. The point is to stop the common accident (a key pasted into a
 * prompt or manifest that is about to be committed and copied into evidence), not to replace a
 * dedicated scanner. Patterns are anchored on vendor prefixes to keep false positives rare.
 */
interface SecretPattern {
  readonly kind: string;
  readonly pattern: RegExp;
}

const PATTERNS: readonly SecretPattern[] = [
  { kind: "private key", pattern: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----/g },
  { kind: "AWS access key ID", pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g },
  { kind: "GitHub token", pattern: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/g },
  { kind: "GitHub fine-grained token", pattern: /\bgithub_pat_[A-Za-z0-9_]{60,255}\b/g },
  { kind: "Anthropic API key", pattern: /\bsk-ant-[a-z]{3,10}\d{2}-[A-Za-z0-9_-]{40,}/g },
  { kind: "OpenAI API key", pattern: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,}/g },
  { kind: "Stripe secret key", pattern: /\b(?:sk|rk)_live_[A-Za-z0-9]{20,}\b/g },
  { kind: "Slack token", pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g },
  { kind: "Slack webhook URL", pattern: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]+/g },
  { kind: "Google API key", pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { kind: "npm token", pattern: /\bnpm_[A-Za-z0-9]{36}\b/g },
  { kind: "password in a connection URL", pattern: /\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s:/@]{1,100}:[^\s@/]{1,200}@[A-Za-z0-9.-]+/g },
];

// One cheap pass decides whether the expensive per-pattern passes are needed at all: almost no
// file contains any of these prefixes.
const PREFILTER = /PRIVATE KEY|\b(?:AKIA|ASIA|ABIA|ACCA)|\bgh[pousr]_|github_pat_|sk-|_live_|xox|hooks\.slack|AIza|npm_|:\/\/[^\s:/@]+:[^\s@/]+@/;

/**
 * Reports every match with its position and kind. The message never contains the matched text:
 * diagnostics end up in logs, check runs and evidence, where a secret must never be copied.
 */
export function scanForSecrets(file: string, text: string): Diagnostic[] {
  if (!PREFILTER.test(text)) return [];
  const found: Diagnostic[] = [];
  for (const { kind, pattern } of PATTERNS) {
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      found.push(
        diagnostic(
          file,
          spanAt(text, m.index, m.index + m[0].length),
          "secret/detected",
          `possible ${kind} (${m[0].length} characters, not shown)`,
          "Remove it from the repository, revoke it if it was real, and let the agent receive credentials from its provider at run time.",
        ),
      );
    }
  }
  return found;
}
