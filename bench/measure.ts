import { readdirSync, readFileSync } from "node:fs";

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

/**
 * CPU milliseconds each thread of this process has used so far, by thread id (Linux: read from
 * /proc; empty elsewhere). The busiest thread's share bounds the throughput of work spread over
 * threads when the machine has cores to spare, which a loaded machine's wall clock cannot show.
 */
export function threadCpuMs(): Map<string, number> {
  const out = new Map<string, number>();
  let tasks: string[];
  try {
    tasks = readdirSync("/proc/self/task");
  } catch {
    return out;
  }
  for (const task of tasks) {
    try {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, "utf8");
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in clock ticks of 10 ms.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(task, (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

/** The most CPU one thread used between two threadCpuMs readings; null where they are not available. */
export function busiestThreadMs(before: Map<string, number>, after: Map<string, number>): number | null {
  if (after.size === 0) return null;
  let most = 0;
  for (const [task, ms] of after) most = Math.max(most, ms - (before.get(task) ?? 0));
  return most;
}

/** The load average over 1, 5 and 15 minutes (Linux: /proc/loadavg; null elsewhere): a figure from a shared machine means little without it. */
export function loadAverage(): string | null {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return null;
  }
}
