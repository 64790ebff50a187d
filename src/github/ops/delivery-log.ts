/**
 * Remembers which webhook deliveries were already handled, so that a redelivery (GitHub's
 * "Redeliver" button, or a retry after a timeout) does no work twice. Bounded: the oldest ids
 * are forgotten first. Within one process; the check run's own fingerprint keeps even a
 * forgotten redelivery from duplicating annotations.
 */
export class DeliveryLog {
  private readonly seen = new Set<string>();

  constructor(private readonly capacity = 10_000) {}

  /** True the first time an id is seen, false for every repeat. */
  claim(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > this.capacity) {
      const oldest = this.seen.values().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
    return true;
  }
}
