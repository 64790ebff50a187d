/**
 * Who acted: the raw principal a source names, mapped to the agent through Charter's own
 * provisioning state as it was at the event's time. Charter created every identity an agent
 * holds (an identity role, a lease login, a token), so that record is the join key; a principal
 * found in none of it stays unattributed, and is kept.
 */
export type BindingKind = "identity-role" | "lease" | "local-token" | "ingest-token";

export interface PrincipalBinding {
  readonly principal: string;
  /** The instance the principal exists on (a PostgreSQL instance); null: any. */
  readonly instance: string | null;
  readonly agent: string;
  readonly kind: BindingKind;
  /** When the principal began to stand for the agent (issue time), UTC ms. */
  readonly fromMs: number;
  /** When it stopped (expiry, revocation, drop); null while it still stands. */
  readonly untilMs: number | null;
}

export interface PrincipalDirectory {
  /** The binding in force for the principal at `ms` on `instance`, if any. */
  lookup(principal: string, instance: string | null, ms: number): PrincipalBinding | null;
}

/**
 * Bindings held in memory, indexed by principal. Lease names are random and never reused, so a
 * principal normally has one binding; an identity role keeps its name across an agent's life.
 */
export class PrincipalBook implements PrincipalDirectory {
  readonly #byPrincipal = new Map<string, PrincipalBinding[]>();

  add(binding: PrincipalBinding): void {
    let list = this.#byPrincipal.get(binding.principal);
    if (list === undefined) this.#byPrincipal.set(binding.principal, (list = []));
    if (list.some((b) => same(b, binding))) return;
    list.push(binding);
    list.sort((a, b) => a.fromMs - b.fromMs);
  }

  lookup(principal: string, instance: string | null, ms: number): PrincipalBinding | null {
    const list = this.#byPrincipal.get(principal);
    if (list === undefined) return null;
    let found: PrincipalBinding | null = null;
    for (const b of list) {
      if (b.instance !== null && b.instance !== instance) continue;
      if (b.fromMs > ms) continue;
      if (b.untilMs !== null && ms >= b.untilMs) continue;
      found = b;
    }
    return found;
  }

  get size(): number {
    let n = 0;
    for (const list of this.#byPrincipal.values()) n += list.length;
    return n;
  }
}

function same(a: PrincipalBinding, b: PrincipalBinding): boolean {
  return a.instance === b.instance && a.agent === b.agent && a.kind === b.kind && a.fromMs === b.fromMs && a.untilMs === b.untilMs;
}
