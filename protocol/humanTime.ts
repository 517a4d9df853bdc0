// Times as a person reads them, for every message the daemon, the CLI and the extension show:
// durations in ms / s / min / h ("4 min 40 s"), relative times ("in 4 min 40 s", "2 min ago").
// Never a raw millisecond count above a second, never an ISO timestamp. Pure and zod-free.

const SECOND_MS = 1000;
const MINUTE_S = 60;
const HOUR_S = 3600;
const DAY_S = 86_400;

/**
 * A duration: "350 ms" below a second, "2.5 s" below ten seconds, "42 s", "4 min 40 s", "1 h 5 min",
 * "3 d 2 h". Two units at most: the second one is dropped when it is zero.
 */
export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'an unknown time';
  const abs = Math.max(0, ms);
  if (abs < SECOND_MS) return `${Math.round(abs)} ms`;
  if (abs < 10 * SECOND_MS) {
    const s = Math.round(abs / 100) / 10;
    // 9.96 s rounds to 10.0: say "10 s", the same as the branch below would.
    if (s < 10) return `${Number.isInteger(s) ? s.toFixed(0) : s.toFixed(1)} s`;
  }
  const total = Math.round(abs / SECOND_MS);
  if (total < MINUTE_S) return `${total} s`;
  if (total < HOUR_S) return pair(Math.floor(total / MINUTE_S), 'min', total % MINUTE_S, 's');
  const minutes = Math.round(total / MINUTE_S);
  if (total < DAY_S) return pair(Math.floor(minutes / 60), 'h', minutes % 60, 'min');
  const hours = Math.round(total / HOUR_S);
  return pair(Math.floor(hours / 24), 'd', hours % 24, 'h');
}

/** A wait, whole seconds up ("retry in 4 min 40 s"): a countdown must not reach 0 before the time is up. */
export function humanWait(ms: number): string {
  if (!Number.isFinite(ms)) return 'an unknown time';
  if (ms <= 0) return 'a moment';
  return humanDuration(Math.ceil(ms / SECOND_MS) * SECOND_MS);
}

/** "in 4 min 40 s", "2 min ago", "just now" (within a second either way). */
export function relativeTime(atMs: number, nowMs: number): string {
  const d = atMs - nowMs;
  if (Math.abs(d) < SECOND_MS) return 'just now';
  return d > 0 ? `in ${humanWait(d)}` : `${humanDuration(-d)} ago`;
}

/** relativeTime for an ISO timestamp; an unparseable one gives undefined (say nothing rather than garbage). */
export function relativeIso(iso: string | undefined, nowMs: number): string | undefined {
  if (!iso) return undefined;
  const at = Date.parse(iso);
  return Number.isFinite(at) ? relativeTime(at, nowMs) : undefined;
}

function pair(a: number, unitA: string, b: number, unitB: string): string {
  return b ? `${a} ${unitA} ${b} ${unitB}` : `${a} ${unitA}`;
}
