/** A rule's need for approvers on one subject: how many, and who could give them. */
export interface ApproverSlot {
  readonly key: string;
  readonly needed: number;
  /** Logins whose approval would count here, in the order they should be preferred. */
  readonly candidates: readonly string[];
}

/**
 * Assigns approvers to slots so that no login is counted twice and as many approvals as possible
 * are counted: a maximum bipartite matching (slots with capacities on one side, people on the
 * other), found with augmenting paths. A greedy pass is not enough: with an owner rule that
 * @sam or @olivia may satisfy and a security rule only @sam may, taking @sam for the owners
 * first would leave security empty although an assignment exists. Deterministic: slots are
 * filled in the order given and candidates tried in the order given.
 *
 * Cost: at most (sum of needed) augmentations, each visiting every (slot, candidate) pair once.
 */
export function assignApprovers(slots: readonly ApproverSlot[]): Map<string, string[]> {
  const assigned = slots.map(() => [] as string[]);
  const holder = new Map<string, number>();

  const augment = (slot: number, visited: Set<string>): boolean => {
    for (const login of slots[slot]?.candidates ?? []) {
      if (visited.has(login)) continue;
      visited.add(login);
      const current = holder.get(login);
      // Already counted here: the loop goes on to someone who could add an approval.
      if (current === slot) continue;
      if (current === undefined || augment(current, visited)) {
        if (current !== undefined) assigned[current]?.splice(assigned[current].indexOf(login), 1);
        holder.set(login, slot);
        assigned[slot]?.push(login);
        return true;
      }
    }
    return false;
  };

  slots.forEach((slot, i) => {
    for (let n = 0; n < slot.needed; n++) if (!augment(i, new Set())) break;
  });
  return new Map(slots.map((slot, i) => [slot.key, assigned[i] ?? []]));
}
