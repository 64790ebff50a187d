import { parsePermission, type Permission } from "../src/manifest/permission.js";
import type { DesiredAgent, ProviderDiff } from "../src/provision/provider.js";
import { createSquidProvider, type SquidProvider } from "../src/providers/squid/index.js";
import { throwawaySquid } from "../test/helpers/squid.js";
import { median, report, round, time } from "./measure.js";

const AGENTS = Number(process.env["CHARTER_BENCH_SQUID_AGENTS"] ?? 1000);
const SAMPLES = Number(process.env["CHARTER_BENCH_SQUID_SAMPLES"] ?? 3);
const HOSTS = ["api.payments.example", "api.tickets.example", "storage.example"];

function permission(raw: string): Permission {
  const parsed = parsePermission(raw);
  if (!parsed.ok) throw new Error(`bench permission ${raw}: ${parsed.reason}`);
  return parsed.permission;
}

/** Agent i gets two or three method/host/path rules; each sample names a fresh set of agents. */
function desiredAgents(sample: number, count: number): DesiredAgent[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `s${String(sample)}-agent-${String(i).padStart(4, "0")}`;
    const host = HOSTS[i % HOSTS.length] ?? "api.example";
    const raws = [`http:get:${host}/v1/${id}/*`, `http:post:${host}/v1/shared/s${String(i % 20)}`, ...(i % 2 === 0 ? [`http:delete:${host}/v1/${id}/cache`] : [])];
    return { id, status: "active" as const, commit: "a".repeat(40), manifestSha256: "b".repeat(64), permissions: raws.map(permission), maxLifetimeSeconds: 3600, maxConcurrentSessions: undefined };
  });
}

async function sync(provider: SquidProvider, desired: readonly DesiredAgent[]): Promise<{ diff: ProviderDiff; failed: number }> {
  const diff = provider.diff(desired, await provider.observe(), { prune: true });
  const applied = await provider.apply(diff.operations);
  return { diff, failed: applied.filter((o) => o.status !== "applied").length };
}

/**
 * Provisioning 1,000 agents (2–3 rules each) on a running throwaway squid 5: the first sync,
 * which records every identity, renders the whole configuration, has squid parse it and reloads
 * it (and drops the previous sample's agents), against a no-op re-sync, which only reads the
 * directory, renders and compares. The ratio is what a periodic drift check costs relative to
 * provisioning from scratch. Samples: each a fresh set of agent ids on the same proxy.
 */
export async function run(): Promise<void> {
  const squid = await throwawaySquid(HOSTS);
  try {
    const provider = createSquidProvider({ instance: "egress", directory: squid.directory, listen: squid.listen, program: squid.program, hostsFile: squid.hostsFile });
    await sync(provider, []);
    await squid.start();
    await sync(provider, []);
    const firsts: number[] = [];
    const noops: number[] = [];
    let operations = 0;
    for (let sample = 0; sample < SAMPLES; sample++) {
      const desired = desiredAgents(sample, AGENTS);
      let first = { diff: { operations: [], findings: [] } as ProviderDiff, failed: 0 };
      firsts.push(await time(async () => {
        first = await sync(provider, desired);
      }));
      let noop = { diff: { operations: [], findings: [] } as ProviderDiff, failed: 0 };
      noops.push(await time(async () => {
        noop = await sync(provider, desired);
      }));
      if (first.failed > 0) throw new Error(`squid provision bench: ${first.failed} steps failed on the first sync`);
      if (noop.diff.operations.length > 0 || noop.diff.findings.length > 0) throw new Error("squid provision bench: the re-sync was not a no-op");
      operations = first.diff.operations.filter((o) => o.action === "create-identity").length;
    }
    report({
      bench: "provision/squid",
      agents: AGENTS,
      samples: SAMPLES,
      identities_created: operations,
      first_sync_ms_min: round(Math.min(...firsts)),
      first_sync_ms_median: round(median(firsts)),
      noop_sync_ms_min: round(Math.min(...noops)),
      noop_sync_ms_median: round(median(noops)),
      baseline: "first sync (every identity, render, squid -k parse, reload)",
      ratio: round(median(noops) / median(firsts), 3),
    });
  } finally {
    await squid.stop();
  }
}
