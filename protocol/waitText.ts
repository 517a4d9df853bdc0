// How a queued request's wait reads to a person, for the VS Code progress notification and the CLI.
// Zod-free and pure: the client and the CLI share it.
import type { WaitEstimate } from './types';

/** Below this a wait is not worth a word. */
export const QUEUED_NOTICE_MIN_MS = 1000;

/** "about 14 s", "about 2 min 5 s". */
export function aboutDuration(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  if (s < 60) return `about ${s} s`;
  const m = Math.floor(s / 60);
  const rest = s % 60;
  return rest ? `about ${m} min ${rest} s` : `about ${m} min`;
}

/**
 * "queued behind 2 requests: about 14 s" when a new request would wait in the queue, else undefined.
 * `elapsedMs` counts the estimate down while the request waits.
 */
export function queuedText(est: WaitEstimate, elapsedMs = 0): string | undefined {
  const queueMs = est.factors.queueMs + (est.factors.cooldownMs ?? 0);
  if (queueMs < QUEUED_NOTICE_MIN_MS) return undefined;
  const left = est.totalMs - elapsedMs;
  const ahead =
    est.position !== undefined && est.position > 0
      ? ` behind ${est.position} request${est.position === 1 ? '' : 's'}`
      : '';
  return left > 0 ? `queued${ahead}: ${aboutDuration(left)}` : `queued${ahead}: any moment now`;
}
