// One provider call under its deadlines: the whole attempt (timeoutMs), the first token
// (firstTokenTimeoutMs) and the gap between deltas (idleTimeoutMs), all on the injected clock.
// A deadline aborts the provider through its signal AND settles at once, so a provider that
// ignores its signal cannot hold the request hostage. Stream integrity is judged here: a result
// without a finish reason is a truncated answer, never a success.
import { humanDuration } from '../../protocol/humanTime';
import type { FailureKind, ToolCallDelta } from '../../protocol/types';
import type { Abortable } from './cancel';
import {
  ignoredParams,
  isProviderError,
  type Clock,
  type GenerateRequest,
  type GenerateResult,
  type Provider,
} from './types';

export interface AttemptLimits {
  attemptMs: number;
  firstTokenMs: number;
  idleMs: number;
}

interface Common {
  latencyMs: number;
  /** Time to the first delta (or to the result, for a provider that did not stream). */
  ttftMs?: number;
  deltas: number;
}

export type AttemptOutcome =
  | ({ ok: true; result: GenerateResult } & Common)
  | ({
      ok: false;
      kind: FailureKind;
      message: string;
      status?: number;
      retryAfterMs?: number;
      aborted: boolean;
    } & Common);

export interface AttemptParams {
  clock: Clock;
  provider: Provider;
  request: GenerateRequest;
  /** Aborted when the whole request stops or this attempt lost a race; the outcome is then `aborted`. */
  signal: Abortable;
  limits: AttemptLimits;
  onDelta?: (delta: string) => void;
  onToolCallDelta?: (delta: ToolCallDelta) => void;
}

export function runAttempt(p: AttemptParams): Promise<AttemptOutcome> {
  const { clock, limits } = p;
  const start = clock.now();
  const ctl = new AbortController();
  let ended = false;
  let deltas = 0;
  let ttftMs: number | undefined;
  const timers = new Set<unknown>();
  let idleTimer: unknown;

  return new Promise<AttemptOutcome>((resolve) => {
    const common = (): Common => ({
      latencyMs: clock.now() - start,
      deltas,
      ...(ttftMs === undefined ? {} : { ttftMs }),
    });
    const finish = (o: AttemptOutcome) => {
      if (ended) return;
      ended = true;
      for (const t of timers) clock.clearTimeout(t);
      p.signal.removeEventListener('abort', onParentAbort);
      resolve(o);
    };
    const fail = (
      kind: FailureKind,
      message: string,
      extra: { status?: number; retryAfterMs?: number; aborted?: boolean } = {},
    ) => finish({ ok: false, kind, message, aborted: false, ...extra, ...common() });
    const deadline = (kind: FailureKind, message: string) => {
      if (ended) return;
      fail(kind, message);
      ctl.abort(new Error(message));
    };
    const arm = (ms: number, kind: FailureKind, message: () => string): unknown => {
      const h = clock.setTimeout(() => deadline(kind, message()), ms);
      timers.add(h);
      return h;
    };
    function onParentAbort() {
      fail('cancelled', abortMessage(p.signal.reason), { aborted: true });
      ctl.abort(p.signal.reason);
    }

    if (p.signal.aborted) return onParentAbort();
    p.signal.addEventListener('abort', onParentAbort, { once: true });
    arm(limits.attemptMs, 'timeout', () => `no complete answer within ${humanDuration(limits.attemptMs)} (timeoutMs)`);
    // A deadline at or past the attempt's can never end it first (a plain, non-streamed call has both
    // the same): not armed, one timer less per request (issue 21).
    const firstTokenTimer =
      limits.firstTokenMs < limits.attemptMs
        ? arm(
            limits.firstTokenMs,
            'timeout',
            () => `no first token within ${humanDuration(limits.firstTokenMs)} (firstTokenTimeoutMs)`,
          )
        : undefined;
    const idles = limits.idleMs < limits.attemptMs;

    const onDelta = (delta: string) => {
      // Late deltas from a provider that kept going after its abort belong to no one.
      if (ended || typeof delta !== 'string' || delta === '') return;
      tick();
      p.onDelta?.(delta);
    };
    const onToolCallDelta = (delta: ToolCallDelta) => {
      if (ended) return;
      tick();
      p.onToolCallDelta?.(delta);
    };
    /**
     * The idle deadline is one timer, not one per delta: a delta only notes its time, and the timer,
     * when it fires, waits again for what is left of the quiet period if something came meanwhile.
     */
    let lastDeltaAt = start;
    const onIdle = () => {
      timers.delete(idleTimer);
      if (ended) return;
      const quiet = clock.now() - lastDeltaAt;
      if (quiet < limits.idleMs) {
        idleTimer = clock.setTimeout(onIdle, limits.idleMs - quiet);
        timers.add(idleTimer);
        return;
      }
      deadline(
        'stream_interrupted',
        `stream stalled: no data for ${humanDuration(limits.idleMs)} after ${deltas} deltas (idleTimeoutMs)`,
      );
    };
    /** Something arrived: the first-token deadline is met and the idle deadline starts over. */
    const tick = () => {
      deltas++;
      lastDeltaAt = clock.now();
      if (ttftMs === undefined) {
        ttftMs = lastDeltaAt - start;
        if (firstTokenTimer !== undefined) {
          clock.clearTimeout(firstTokenTimer);
          timers.delete(firstTokenTimer);
        }
      }
      if (idles && idleTimer === undefined) {
        idleTimer = clock.setTimeout(onIdle, limits.idleMs);
        timers.add(idleTimer);
      }
    };

    let call: Promise<GenerateResult>;
    try {
      call = p.provider.generate(p.request, { signal: ctl.signal, onDelta, onToolCallDelta });
    } catch (e) {
      call = Promise.reject(e);
    }
    call.then(
      (result) => {
        if (ended) return;
        if (!result || typeof result.finishReason !== 'string' || result.finishReason === '') {
          return fail(
            'stream_interrupted',
            `the stream ended without a finish reason after ${deltas} deltas: the answer is truncated`,
          );
        }
        if (ttftMs === undefined) ttftMs = clock.now() - start;
        const ignored = ignoredParams(p.request, p.provider.ignores);
        finish({ ok: true, result: ignored.length ? { ...result, ignoredParams: ignored } : result, ...common() });
      },
      (e: unknown) => {
        if (ended) return;
        if (!isProviderError(e))
          return fail('unknown', `provider error: ${e instanceof Error ? e.message : String(e)}`);
        // A cancellation nobody asked for is the provider's failure, not the caller's wish.
        const kind = e.kind === 'cancelled' ? 'unknown' : e.kind;
        const message = e.kind === 'cancelled' ? `the provider stopped on its own: ${e.message}` : e.message;
        const extra: { status?: number; retryAfterMs?: number } = {};
        if (e.status !== undefined) extra.status = e.status;
        if (e.retryAfterMs !== undefined) extra.retryAfterMs = e.retryAfterMs;
        fail(kind, message, extra);
      },
    );
  });
}

function abortMessage(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' ? reason : 'aborted';
}
