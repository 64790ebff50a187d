/**
 * Decides whether a model reference is pinned. A floating alias ("latest", "-latest", a range)
 * lets the provider change the model under the agent without a pull request, which is exactly
 * the unreviewed change CC8.1 forbids.
 */
const FLOATING_WORDS = /^(?:latest|stable|current|default|preview|newest|auto|next|beta|nightly|edge|head)$/i;

export function floatingReason(name: string, version: string): string | undefined {
  if (/(?:^|[-_.:/])latest$/i.test(name)) return `model name "${name}" is a floating alias`;
  if (FLOATING_WORDS.test(version)) return `version "${version}" floats`;
  if (/[-_.]latest$/i.test(version)) return `version "${version}" floats`;
  if (/[*^~<>=|]/.test(version) || /(?:^|\.)x(?:\.|$)/i.test(version)) return `version "${version}" is a range, not a pinned version`;
  return undefined;
}
