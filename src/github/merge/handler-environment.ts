import type { ControlsObserver } from "./controls.js";
import type { ProvisioningEnvironment } from "./provision-merge.js";
import type { KeyedQueue } from "../ops/keyed-queue.js";
import type { IdentityCache } from "../../manifest/inventory-identities.js";
import type { BacktestSource } from "../pull-request/rules-backtest.js";

/**
 * What every webhook handler shares: configuration and the per-key queue that orders work. It
 * lives beside the merge handlers because most of it (controls, provisioning) is theirs; the
 * push handlers and the retro-approval comment take the same one.
 */
export interface HandlerEnvironment {
  readonly appId: number | undefined;
  readonly signingKey: string | undefined;
  readonly now: () => Date;
  readonly queue: KeyedQueue;
  readonly controls: ControlsObserver;
  readonly provisioning: ProvisioningEnvironment;
  /** Agent identities by manifest blob id, shared by every check this process makes. */
  readonly identities: IdentityCache;
  /** The trail repository's trail, which its pull requests' changed detection rules are backtested against. */
  readonly backtest?: BacktestSource;
}
