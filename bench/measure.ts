/**
 * Times a candidate against a baseline in the same process, alternating them so that machine
 * noise hits both alike, and reports medians. Benchmarks print ratios, not absolute times alone,
 * because absolute times on shared machines mean little.
 */
export async function compare(
  rounds: number,
  candidate: () => unknown,
  baseline: () => unknown,
): Promise<{ candidateMs: number; baselineMs: number; ratio: number }> {
  await candidate();
  await baseline();
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(await time(candidate));
    b.push(await time(baseline));
  }
  const candidateMs = median(a);
  const baselineMs = median(b);
  return { candidateMs: round(candidateMs), baselineMs: round(baselineMs), ratio: round(candidateMs / baselineMs, 3) };
}

export async function time(fn: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** One JSON line per figure: the format every benchmark prints. */
export function report(figure: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(figure) + "\n");
}
