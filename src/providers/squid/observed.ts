import type { SquidState } from "./state.js";

export interface PasswordLine {
  readonly user: string;
  readonly hash: string;
}

export interface SquidObserved {
  readonly instance: string;
  /** The clock leases expire by, in milliseconds. */
  readonly now: number;
  /** The configuration file as it is on disk; undefined when there is none yet. */
  readonly config: string | undefined;
  /** Every line of the password file that has the user:hash shape, Charter's or not. */
  readonly passwords: readonly PasswordLine[];
  /** Lines of the password file that are not user:hash at all. */
  readonly malformedPasswordLines: number;
  readonly state: SquidState;
}
