// Exponential backoff with "full jitter" (AWS architecture blog, "Exponential Backoff And Jitter"):
// the delay is uniform in [0, min(cap, base·2^n)]. Full jitter spreads a herd of clients that
// failed together, which matters most for 429s: every caller retrying on the same beat is what
// keeps a rate-limited provider rate-limited.

export interface BackoffConfig {
  baseMs: number;
  maxMs: number;
  /** false: the deterministic ceiling base·2^n (useful for reproducible runs). */
  jitter: boolean;
}

/** Exponents past this overflow nothing useful: 2^30 · any base is beyond every sane cap. */
const MAX_EXPONENT = 30;

/** The ceiling of the n-th retry's delay (n = 0 for the first retry). */
export function backoffCeilingMs(cfg: BackoffConfig, retry: number): number {
  const exp = Math.min(Math.max(0, Math.floor(retry)), MAX_EXPONENT);
  return Math.max(0, Math.min(cfg.maxMs, cfg.baseMs * 2 ** exp));
}

/** The delay before the n-th retry; `random` returns [0, 1) and is injected so tests are deterministic. */
export function backoffDelayMs(cfg: BackoffConfig, retry: number, random: () => number): number {
  const ceiling = backoffCeilingMs(cfg, retry);
  if (!cfg.jitter) return ceiling;
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * ceiling);
}
