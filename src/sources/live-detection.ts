import type { Alert } from "../detect/alert.js";
import { type DetectionOutput, Detector } from "../detect/detector.js";
import type { Notice } from "../detect/hit.js";
import type { ManifestsInForce } from "../detect/manifests-in-force.js";
import { EMPTY_RULES, type RuleSet } from "../detect/sigma/load-rules.js";
import { DEFAULT_SETTINGS, type ResolvedSettings } from "../detect/settings.js";
import type { TrailEvent } from "../trail/event.js";
import { eventFromBytes } from "../trail/event-bytes.js";
import { logAlerts, logHistory, reconcileAlertLog } from "./alert-log.js";
import type { AlertStore } from "./alert-store.js";
import type { TrailStore } from "./trail-store.js";

/** The rules and settings in force: the default branch's detection/ directory. */
export interface DetectionConfig {
  readonly rules: RuleSet;
  readonly settings: ResolvedSettings;
}

export interface LiveDetectionOptions {
  /** How often the detector's state is saved when no alert is raised. Default 10 s. */
  readonly snapshotEveryMs?: number;
  readonly now?: () => number;
  readonly onNotices?: (notices: readonly Notice[]) => void;
  /** Alerts newly recorded (not already in the store): what escalation picks up. */
  readonly onAlerts?: (alerts: readonly Alert[]) => void;
}

/** Links read from the store per catch-up page. */
const PAGE = 1000;

/**
 * Detection on live ingest: the trail ingestor hands it each batch once durable, in seq order,
 * and it runs the detector over it and records the alerts raised. Everything it knows is
 * rebuilt from the store: the detector's state is saved in the alert store (with every batch
 * that raised an alert, otherwise every few seconds), and on start, or on a gap (events another
 * replica stored, a batch a failing store call lost), it reads the trail from the saved
 * position on. Replaying events the saved state had not seen raises their alerts again with the
 * same ids, which the store records once: a restart neither forgets baselines nor escalates an
 * alert twice.
 *
 * A trail that has events but no saved state (detection turned on for an existing trail)
 * starts at its tip: the past is what `charter detect` over an export is for.
 */
export class LiveDetection {
  readonly #trail: TrailStore;
  readonly #alerts: AlertStore;
  readonly #manifests: ManifestsInForce;
  readonly #snapshotEveryMs: number;
  readonly #now: () => number;
  readonly #onNotices: (notices: readonly Notice[]) => void;
  readonly #onAlerts: (alerts: readonly Alert[]) => void;
  #config: DetectionConfig = { rules: EMPTY_RULES, settings: DEFAULT_SETTINGS };
  #configKey = "";
  #detector: Detector | null = null;
  #chain: Promise<unknown> = Promise.resolve();
  #savedMs = 0;
  #savedPosition = -1;
  /** Events the detector has run over since this process started. */
  processed = 0;

  constructor(trail: TrailStore, alerts: AlertStore, manifests: ManifestsInForce, options: LiveDetectionOptions = {}) {
    this.#trail = trail;
    this.#alerts = alerts;
    this.#manifests = manifests;
    this.#snapshotEveryMs = options.snapshotEveryMs ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#onNotices = options.onNotices ?? (() => undefined);
    this.#onAlerts = options.onAlerts ?? (() => undefined);
    this.#configKey = configKey(this.#config);
  }

  /** The last trail seq detection has run over; -1 before start. */
  get position(): number {
    return this.#detector?.position ?? -1;
  }

  /**
   * Marks where detection begins when it has never run on this trail: the tip now, before this
   * process ingests anything, so that events arriving while the manifests are still being read
   * are detected once start() runs.
   */
  begin(): Promise<void> {
    return this.#serial(async () => {
      if ((await this.#alerts.snapshot()) !== null) return;
      const empty = new Detector(this.#input()).snapshot();
      await this.#alerts.record([], { ...empty, position: (await this.#trail.tip()).seq }, this.#now());
    });
  }

  /** Loads the saved state (or starts at the trail's tip) and catches up with the trail. */
  start(): Promise<void> {
    return this.#serial(async () => {
      // Evaluations a crash left out of the log (stored, not yet appended) go in before anything else.
      await reconcileAlertLog(this.#alerts, this.#trail);
      const saved = await this.#alerts.snapshot();
      const fresh = new Detector(this.#input());
      if (saved !== null) this.#detector = new Detector(this.#input(), saved);
      else this.#detector = new Detector(this.#input(), { ...fresh.snapshot(), position: (await this.#trail.tip()).seq });
      await this.#catchUp(Number.POSITIVE_INFINITY);
      await this.#record([], true);
    });
  }

  /** The durable-events consumer (TrailIngestor.onDurable). */
  readonly consume = (events: readonly TrailEvent[]): Promise<void> =>
    this.#serial(async () => {
      const detector = this.#detector;
      const first = events[0];
      if (detector === null || first === undefined) return;
      if (first.seq > detector.position + 1) await this.#catchUp(first.seq - 1);
      const alerts: Alert[] = [];
      const notices: Notice[] = [];
      for (const event of events) this.#collect(detector.process(event), alerts, notices);
      this.processed += events.length;
      if (notices.length > 0) this.#onNotices(notices);
      await this.#record(alerts, false);
    });

  /**
   * Puts new rules or settings in force (a merge to the default branch). The detector keeps its
   * state: baselines and windows carry over, a changed correlation keeps its groups only if its
   * file and id are unchanged.
   */
  configure(config: DetectionConfig): Promise<void> {
    return this.#serial(() => {
      const key = configKey(config);
      if (key === this.#configKey) return Promise.resolve();
      this.#config = config;
      this.#configKey = key;
      if (this.#detector !== null) this.#detector = new Detector(this.#input(), this.#detector.snapshot());
      return Promise.resolve();
    });
  }

  /** Periodic work: events other replicas stored, waits that expire with Charter's clock, the state saved. */
  tick(): Promise<void> {
    return this.#serial(async () => {
      const detector = this.#detector;
      if (detector === null) return;
      await this.#catchUp(Number.POSITIVE_INFINITY);
      const alerts: Alert[] = [];
      const notices: Notice[] = [];
      this.#collect(detector.advance(new Date(this.#now()).toISOString()), alerts, notices);
      if (notices.length > 0) this.#onNotices(notices);
      await this.#record(alerts, false);
    });
  }

  /** Saves the state; the caller closes the stores afterwards. */
  close(): Promise<void> {
    return this.#serial(() => (this.#detector === null ? Promise.resolve() : this.#record([], true)));
  }

  #input() {
    return { manifests: this.#manifests, rules: this.#config.rules, settings: this.#config.settings };
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(work, work);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #collect(out: DetectionOutput, alerts: Alert[], notices: Notice[]): void {
    for (const a of out.alerts) alerts.push(a);
    for (const n of out.notices) notices.push(n);
  }

  /** Runs the detector over stored events after its position, up to seq `through`. */
  async #catchUp(through: number): Promise<void> {
    const detector = this.#detector;
    if (detector === null) return;
    for (;;) {
      const from = detector.position + 1;
      if (from > through) return;
      const links = await this.#trail.readChain(from, Math.min(PAGE, through - from + 1));
      if (links.length === 0) return;
      const alerts: Alert[] = [];
      const notices: Notice[] = [];
      for (const link of links) this.#collect(detector.process(eventFromBytes(link.bytes, link.hash.toString("hex"))), alerts, notices);
      this.processed += links.length;
      if (notices.length > 0) this.#onNotices(notices);
      await this.#record(alerts, false);
    }
  }

  /** Records alerts with the state that raised them, and saves the state when due. */
  async #record(alerts: readonly Alert[], force: boolean): Promise<void> {
    const detector = this.#detector;
    if (detector === null) return;
    const now = this.#now();
    const due = force || alerts.length > 0 || (now - this.#savedMs >= this.#snapshotEveryMs && detector.position !== this.#savedPosition);
    if (!due) return;
    // Into the trail's tamper-evident log first: an alert is never stored without its record there.
    await logAlerts(this.#trail, alerts);
    const fresh = await this.#alerts.record(alerts, detector.snapshot(), now);
    this.#savedMs = now;
    this.#savedPosition = detector.position;
    // An alert stored under a suppression carries the store's own evaluation: it is logged too.
    for (const a of fresh) if ((await this.#alerts.get(a.id))?.status === "suppressed") await logHistory(this.#alerts, this.#trail, a.id);
    if (fresh.length > 0) this.#onAlerts(fresh);
  }
}

function configKey(config: DetectionConfig): string {
  return `${config.rules.digest}\n${JSON.stringify(config.settings)}`;
}
