/* Generated from schemas/detection-settings.schema.json by scripts/generate-types.js. Do not edit: run npm run generate. */

/**
 * Settings of Charter's anomaly detection, in detection/settings.yml: model prices for the cost rule, thresholds of the built-in rules and learned baselines, and built-in rules turned off. A governance file: changed only by pull request.
 */
export interface DetectionSettings {
  /**
   * Settings format version. Only 1 exists today.
   */
  version: 1;
  /**
   * What a model's tokens cost, for runtime.maxCostPerDayUsd. The most specific entry wins: an exact model name before the longest prefix ending in *.
   *
   * @maxItems 500
   */
  prices?: Price[];
  /**
   * Built-in rules not to run.
   */
  disabled?: (
    | "charter/out-of-scope"
    | "charter/outside-hours"
    | "charter/retired-agent"
    | "charter/unattributed"
    | "charter/rate-limit"
    | "charter/cost-limit"
    | "charter/approval-missing"
    | "charter/denied-burst"
    | "charter/first-seen"
    | "charter/volume"
  )[];
  /**
   * charter/denied-burst: this many permission-denied events from one identity within the window.
   */
  deniedBurst?: {
    count?: number;
    windowSeconds?: number;
  };
  /**
   * charter/approval-missing: how approval events are accepted.
   */
  approvals?: {
    /**
     * How long after receiving a tool call an approval may still arrive (sources deliver out of order) before the call is alerted on.
     */
    waitSeconds?: number;
    /**
     * Accept approvals that only the agent's own telemetry reports. Off by default: an agent that skips its approval step can also report one.
     */
    acceptSelfReported?: boolean;
  };
  /**
   * charter/first-seen: an agent touching a resource or action it has not used in the last lookbackDays.
   */
  firstSeen?: {
    lookbackDays?: number;
    learningDays?: number;
  };
  /**
   * charter/volume: an agent's events in a UTC day against the median of its previous historyDays.
   */
  volume?: {
    historyDays?: number;
    learningDays?: number;
    factor?: number;
    minimumIncrease?: number;
  };
}
export interface Price {
  /**
   * The model name as telemetry reports it, or a prefix ending in * (claude-sonnet-4-5*).
   */
  model: string;
  inputUsdPerMillionTokens: number;
  outputUsdPerMillionTokens: number;
}
