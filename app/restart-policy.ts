export interface RestartPolicyOptions {
  /** An engine that ran at least this long before exiting had a stable run; the crash count starts again, ms. */
  stableAfterMs: number;
  /** Wait before the first restart, ms; doubles with each further crash in a row, up to maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** This many crashes in a row, each soon after the start before it, and restarting stops. */
  maxCrashesInARow: number;
}

const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  stableAfterMs: 30_000,
  initialDelayMs: 500,
  maxDelayMs: 8_000,
  maxCrashesInARow: 5,
};

export type RestartDecision =
  | { action: 'restart'; delayMs: number }
  | { action: 'give-up'; crashesInARow: number };

/** Exponential backoff for an engine that exits unexpectedly, giving up after repeated quick crashes. */
export class RestartPolicy {
  private crashesInARow = 0;

  constructor(private readonly options: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {}

  /** The engine exited unexpectedly after running `uptimeMs` (0 if it never started). */
  onCrash(uptimeMs: number): RestartDecision {
    this.crashesInARow = uptimeMs >= this.options.stableAfterMs ? 1 : this.crashesInARow + 1;
    if (this.crashesInARow >= this.options.maxCrashesInARow) {
      return { action: 'give-up', crashesInARow: this.crashesInARow };
    }
    const delayMs = Math.min(this.options.initialDelayMs * 2 ** (this.crashesInARow - 1), this.options.maxDelayMs);
    return { action: 'restart', delayMs };
  }

  /** Forget earlier crashes (the user asked to try again). */
  reset(): void {
    this.crashesInARow = 0;
  }
}
