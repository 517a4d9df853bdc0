// When the daemon dies, restart it with exponential backoff, but only a bounded number of times
// within a window: a daemon that crashes on start would otherwise spin forever and hide the reason.
// Pure (the clock is passed in) so unit tests drive it directly.

export const RESTART_BACKOFF_BASE_MS = 500;
export const RESTART_BACKOFF_MAX_MS = 8_000;
export const RESTART_MAX_TRIES = 5;
/**
 * Crashes older than this no longer count against the budget (a daemon that ran fine for a while earned a
 * fresh start).
 */
export const RESTART_WINDOW_MS = 3 * 60_000;

export type RestartDecision = { restart: true; delayMs: number; attempt: number } | { restart: false; crashes: number };

export class RestartPolicy {
  private crashes: number[] = [];

  constructor(
    private readonly maxTries = RESTART_MAX_TRIES,
    private readonly baseMs = RESTART_BACKOFF_BASE_MS,
    private readonly maxMs = RESTART_BACKOFF_MAX_MS,
    private readonly windowMs = RESTART_WINDOW_MS,
  ) {}

  /** Record a crash at `nowMs` and decide whether (and after how long) to restart. */
  onCrash(nowMs: number): RestartDecision {
    this.crashes = this.crashes.filter((t) => nowMs - t < this.windowMs);
    this.crashes.push(nowMs);
    const attempt = this.crashes.length;
    if (attempt > this.maxTries) return { restart: false, crashes: attempt };
    const delayMs = Math.min(this.maxMs, this.baseMs * 2 ** (attempt - 1));
    return { restart: true, delayMs, attempt };
  }

  /** A manual restart (the user asked) starts a fresh budget. */
  reset(): void {
    this.crashes = [];
  }
}
