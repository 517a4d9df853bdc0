// What to do after one failed attempt: retry the same model (after how long), move to the next
// model, move to the next model whose context fits, or stop. Decided once, here, from the
// FailureKind the provider boundary classified — the engine never looks at status codes.
import type { FailureKind } from '../../protocol/types';
import { humanDuration } from '../../protocol/humanTime';
import { backoffDelayMs, type BackoffConfig } from './backoff';

export type RetryDecision =
  | { action: 'retry'; delayMs: number; why: string }
  | { action: 'next'; why: string }
  | { action: 'next_fitting'; why: string }
  | { action: 'stop'; why: string };

export interface RetryInput {
  kind: FailureKind;
  /** Index of the attempt that just failed on this model (0 = first try). */
  retry: number;
  maxRetries: number;
  retryAfterMs?: number;
  /** How long health will still refuse this model (circuit open, 429 cooldown); 0 when callable now. */
  blockedForMs: number;
  backoff: BackoffConfig;
  maxRetryAfterMs: number;
  /** Time left before the whole request's deadline. */
  timeLeftMs: number;
  random: () => number;
}

/** Failures worth another try on the same model: transient by nature. */
const RETRY_SAME_MODEL: ReadonlySet<FailureKind> = new Set(['server_error', 'network']);

/** Why each non-retryable kind goes straight to the next model (shown in logs and attempts). */
const FAIL_OVER_WHY: Partial<Record<FailureKind, string>> = {
  timeout: 'a silent route is not retried',
  stream_interrupted: 'a broken stream is answered by the next model from the start',
  content_filter: 'the same model would refuse again',
  bad_request: 'the same model would reject the request again',
  auth: 'the provider needs a valid API key',
  model_missing: 'the model is not available',
  model_load: 'the model could not be loaded',
  out_of_memory: 'the model does not fit in memory',
  unknown: 'an unclassified failure is not retried blindly',
};

/**
 * Failures that end the whole request at once, without another model: the caller must hear them.
 * A provider's content-policy refusal is one unless `contentPolicyFallback` is on — another model
 * answering what one provider's policy refused is a decision for the user, not for a fallback chain.
 */
export function endsRequest(kind: FailureKind, cfg: { contentPolicyFallback?: boolean }): boolean {
  return kind === 'content_filter' && cfg.contentPolicyFallback !== true;
}

/** The error message of a refusal that ends the request (see endsRequest). */
export function contentPolicyMessage(model: string, providerMessage: string): string {
  return (
    `Refused by the provider's content policy: ${model} declined this request (${providerMessage}). ` +
    'No other model was tried (contentPolicyFallback is off): rephrase the request, or set contentPolicyFallback ' +
    'to true to fail over to the next model instead.'
  );
}

export function decideRetry(i: RetryInput): RetryDecision {
  if (i.kind === 'cancelled') return { action: 'stop', why: 'cancelled' };
  if (i.kind === 'context_overflow') return { action: 'next_fitting', why: 'the prompt does not fit this model' };
  if (i.kind === 'rate_limited') return decideRateLimited(i);
  if (!RETRY_SAME_MODEL.has(i.kind)) return { action: 'next', why: FAIL_OVER_WHY[i.kind] ?? 'not retryable' };
  if (i.retry >= i.maxRetries) return { action: 'next', why: `gave up after ${i.retry + 1} attempts` };
  // Health refusing the model now means its circuit opened on this very failure: the model is
  // down, and the next one answers sooner than any cooldown would end.
  if (i.blockedForMs > 0) return { action: 'next', why: 'the circuit opened' };
  const delayMs = backoffDelayMs(i.backoff, i.retry, i.random);
  if (delayMs >= i.timeLeftMs) return { action: 'next', why: 'no time left for a retry' };
  return { action: 'retry', delayMs, why: `retrying after ${humanDuration(delayMs)}` };
}

function decideRateLimited(i: RetryInput): RetryDecision {
  if (i.retry >= i.maxRetries) return { action: 'next', why: `still rate limited after ${i.retry + 1} attempts` };
  if (i.retryAfterMs !== undefined) {
    if (i.retryAfterMs > i.maxRetryAfterMs) {
      return {
        action: 'next',
        why: `the provider asked for a wait of ${humanDuration(i.retryAfterMs)}, longer than maxRetryAfterMs (${humanDuration(i.maxRetryAfterMs)})`,
      };
    }
    const delayMs = Math.max(i.retryAfterMs, i.blockedForMs);
    if (delayMs >= i.timeLeftMs) return { action: 'next', why: 'no time left to honour Retry-After' };
    return {
      action: 'retry',
      delayMs,
      why: `retrying after the ${humanDuration(i.retryAfterMs)} the provider asked for`,
    };
  }
  // No header: back off with full jitter, but never sooner than health's own 429 cooldown,
  // which grows with consecutive 429s — the engine must not hammer a model health has paused.
  const delayMs = Math.max(backoffDelayMs(i.backoff, i.retry, i.random), i.blockedForMs);
  if (delayMs > i.maxRetryAfterMs)
    return { action: 'next', why: `the rate-limit wait of ${humanDuration(delayMs)} is longer than maxRetryAfterMs` };
  if (delayMs >= i.timeLeftMs) return { action: 'next', why: 'no time left for a rate-limit backoff' };
  return { action: 'retry', delayMs, why: `rate limited, retrying after ${humanDuration(delayMs)}` };
}
