// One request from start to answer: exhaustion check before any call, the request deadline and
// cancellation, the strategy (one lane at a time, hedged lanes, or a race of all), context-fit
// skipping after an overflow, fallback events, and the result or the error the caller gets.
import { ErrorCodes } from '../../protocol/errors';
import type { Attempt, CompleteResult, FailureKind } from '../../protocol/types';
import type { EngineConfig, EngineDeps, EngineRequest, RunOptions } from './engineTypes';
import { EngineError } from './engineError';
import { Cancel, type Abortable } from './cancel';
import { Lane, LOST_RACE, type LaneContext, type LaneOutcome } from './lane';
import { contentPolicyMessage, endsRequest } from './retryPolicy';
import {
  dedupe,
  estimateContextTokens,
  fitsAfterOverflow,
  hedgeAfterMs,
  orderChain,
  orderForBudget,
} from './strategies';
import { needsOf, type RequestNeeds } from './requirements';
import { PRIVACY_SKIP, privacyError, privacyForbids } from './privacy';
import { StreamGate } from './streamGate';
import { humanDuration, humanWait } from '../../protocol/humanTime';

/** Hedging keeps at most this many models running for one request (the original and one hedge). */
export const MAX_HEDGE_LANES = 2;

type Won = Extract<LaneOutcome, { type: 'won' }>;
type Failed = Extract<LaneOutcome, { type: 'failed' }>;

export class RequestRun implements LaneContext {
  readonly cfg: EngineConfig;
  readonly gate: StreamGate;
  readonly upstreamStream: boolean;
  readonly needs: RequestNeeds;
  readonly startedAt: number;
  readonly deadlineAt: number;
  private readonly attempts: Attempt[] = [];
  private readonly ctl = new Cancel();
  private stopped: 'cancelled' | 'deadline' | undefined;
  private readonly chain: string[];
  private readonly neededTokens: number;
  /** Set after a context overflow: later models must be larger than this (and fit the estimate). */
  private overflow: { context: number | undefined } | undefined;
  private queue = { waiting: 0, since: 0, totalMs: 0 };
  private queueError: (Error & { code: number }) | undefined;

  constructor(
    readonly deps: EngineDeps,
    readonly req: EngineRequest,
    private readonly opts: RunOptions,
  ) {
    this.cfg = deps.config();
    this.startedAt = deps.clock.now();
    this.deadlineAt = this.startedAt + (req.timeoutMs ?? this.cfg.requestTimeoutMs);
    this.chain = dedupe(req.chain);
    this.neededTokens = estimateContextTokens(req);
    const sink: ConstructorParameters<typeof StreamGate>[0] = {};
    if (opts.onDelta) sink.onDelta = opts.onDelta;
    if (opts.onToolCallDelta) sink.onToolCallDelta = opts.onToolCallDelta;
    if (opts.onReset) sink.onReset = opts.onReset;
    this.gate = new StreamGate(sink);
    this.upstreamStream = opts.upstreamStream !== false;
    this.needs = needsOf(req);
  }

  async execute(): Promise<CompleteResult> {
    if (this.opts.signal.aborted) throw this.stopError('cancelled');
    this.precheck();
    const { clock } = this.deps;
    const onAbort = () => this.halt('cancelled', 'cancelled by the caller');
    this.opts.signal.addEventListener('abort', onAbort, { once: true });
    const deadlineMs = this.deadlineAt - this.startedAt;
    const timer = clock.setTimeout(
      () => this.halt('deadline', `request deadline of ${humanDuration(deadlineMs)} reached`),
      deadlineMs,
    );
    try {
      const strategy = this.req.strategy ?? this.cfg.strategy;
      const cost = this.deps.cost;
      const order = orderChain(
        strategy,
        this.chain,
        this.deps.health,
        this.deps.random,
        cost ? (m) => cost(m, this.req) : undefined,
      );
      const won = await this.race(orderForBudget(order, this.deps.health, this.req.budgetMs), strategy === 'fastest');
      return this.result(won);
    } finally {
      clock.clearTimeout(timer);
      this.opts.signal.removeEventListener('abort', onAbort);
      this.ctl.abort('request finished');
    }
  }

  record(a: Attempt): void {
    this.attempts.push(a);
    this.opts.onAttempt?.(a);
    this.emit({ type: 'attempt', requestId: this.opts.requestId, attempt: a });
  }

  stopOutcome(): 'cancelled' | 'timeout' | undefined {
    return this.stopped === undefined ? undefined : this.stopped === 'deadline' ? 'timeout' : 'cancelled';
  }

  async acquire(model: string, signal: Abortable): Promise<() => void> {
    const acquire = this.deps.acquire;
    if (!acquire) return () => {};
    if (this.queue.waiting++ === 0) this.queue.since = this.deps.clock.now();
    try {
      return await untilAborted(
        acquire(
          model,
          this.req.priority ?? 'normal',
          signal,
          this.req.maxTokens === undefined ? {} : { expectedTokens: this.req.maxTokens },
        ),
        signal,
      );
    } catch (e) {
      // Remember a full queue / expired wait: if no model answers, that is the request's error.
      const code = (e as { code?: unknown }).code;
      if (code === ErrorCodes.QueueFull || code === ErrorCodes.Timeout) this.queueError = e as Error & { code: number };
      // Taken out of the queue (backstop/queue/cancel): the whole request ends as cancelled.
      if (code === ErrorCodes.RequestCancelled && !signal.aborted) this.halt('cancelled', 'cancelled while queued');
      throw e;
    } finally {
      if (--this.queue.waiting === 0) this.queue.totalMs += this.deps.clock.now() - this.queue.since;
    }
  }

  /** No model callable now (every circuit open or cooling down): answer at once, without a call. */
  private precheck(): void {
    const { health } = this.deps;
    const allowed = (m: string) => {
      const r = this.deps.resolve(m);
      return r !== undefined && !privacyForbids(this.req, r) && !this.deps.unavailable?.(r);
    };
    const known = this.chain.filter(allowed);
    if (known.length > 0 && health.nextRecovery(known) === undefined) return;
    for (const m of this.chain) {
      const r = this.deps.resolve(m);
      if (r && privacyForbids(this.req, r)) {
        this.record({
          model: m,
          outcome: 'skipped',
          failure: 'unsupported',
          message: PRIVACY_SKIP,
          latencyMs: 0,
          retry: 0,
          startedAtMs: 0,
        });
        continue;
      }
      const off = r && this.deps.unavailable?.(r);
      if (off) {
        this.record({
          model: m,
          outcome: 'skipped',
          failure: off.kind,
          message: off.message,
          latencyMs: 0,
          retry: 0,
          startedAtMs: 0,
        });
        continue;
      }
      const b = r ? health.blocked(m) : undefined;
      const failure: FailureKind = b ? (health.get(m).lastFailure ?? 'unknown') : 'model_missing';
      const message = b?.reason ?? `unknown model "${m}": no configured provider serves it`;
      this.record({ model: m, outcome: 'skipped', failure, message, latencyMs: 0, retry: 0, startedAtMs: 0 });
    }
    throw this.exhaustedError();
  }

  private race(order: string[], parallel: boolean): Promise<Won> {
    const { clock, health } = this.deps;
    // A latency budget hedges too: the next model starts when the budget passes without a first token.
    const hedging = !parallel && (this.cfg.hedging.enabled || this.req.budgetMs !== undefined);
    const running = new Map<Lane, Promise<void>>();
    const hedgeTimers = new Map<Lane, unknown>();
    let next = 0;
    let done = false;
    let last: Failed | undefined;

    return new Promise<Won>((resolve, reject) => {
      const settle = (fn: () => void) => {
        done = true;
        for (const t of hedgeTimers.values()) clock.clearTimeout(t);
        for (const lane of running.keys()) lane.abort(LOST_RACE);
        // Answer only once every loser has stopped and recorded its cancelled attempt.
        void Promise.allSettled(running.values()).then(() => {
          // fn may build the exhaustion error (planner, estimates): a throw there must reject this
          // request, never become an unhandled rejection.
          try {
            fn();
          } catch (e) {
            reject(e);
          }
        });
      };
      const launch = (after?: Failed): boolean => {
        while (next < order.length) {
          const model = order[next++] as string;
          if (this.overflow && !this.fits(model)) continue;
          if (after) this.emitFallback(after, model);
          const lane = new Lane(this, model, this.ctl);
          running.set(
            lane,
            lane.run().then(
              (o) => onDone(lane, o),
              (e: unknown) => {
                running.delete(lane);
                if (!done) settle(() => reject(e));
              },
            ),
          );
          armHedge(lane);
          return true;
        }
        return false;
      };
      const armHedge = (lane: Lane) => {
        const delayMs =
          hedging && next < order.length
            ? hedgeAfterMs(this.cfg.hedging, health, lane.model, this.req.budgetMs)
            : undefined;
        if (delayMs === undefined) return;
        hedgeTimers.set(
          lane,
          clock.setTimeout(() => {
            hedgeTimers.delete(lane);
            if (!done && running.has(lane) && !lane.firstToken && running.size < MAX_HEDGE_LANES) launch();
          }, delayMs),
        );
      };
      const onDone = (lane: Lane, o: LaneOutcome) => {
        running.delete(lane);
        clock.clearTimeout(hedgeTimers.get(lane));
        hedgeTimers.delete(lane);
        if (done) return;
        if (o.type === 'won') return settle(() => resolve(o));
        if (o.type === 'stopped') {
          if (this.stopped || running.size === 0) settle(() => reject(this.stopError(this.stopped ?? 'cancelled')));
          return;
        }
        last = o;
        if (endsRequest(o.kind, this.cfg)) return settle(() => reject(this.refusedError(o)));
        if (o.contextOverflow) this.noteOverflow(o.contextLength);
        if (running.size === 0 && launch(o)) return;
        const successor = [...running.keys()][0];
        if (successor) return this.emitFallback(o, successor.model);
        settle(() => reject(this.exhaustedError(last)));
      };
      if (parallel) while (launch());
      else launch();
      if (running.size === 0 && !done) settle(() => reject(this.exhaustedError()));
    });
  }

  /** Later models must beat the largest context that overflowed (when it is known). */
  private noteOverflow(contextLength: number | undefined): void {
    const known = [this.overflow?.context, contextLength].filter((x): x is number => x !== undefined);
    this.overflow = { context: known.length > 0 ? Math.max(...known) : undefined };
  }

  /** After an overflow: skip (and say so) every model that cannot take the prompt either. */
  private fits(model: string): boolean {
    const ctx = this.deps.resolve(model)?.contextLength;
    if (fitsAfterOverflow(ctx, this.neededTokens, this.overflow?.context)) return true;
    const message = `skipped after a context overflow: the request needs about ${this.neededTokens} tokens and this model's context is ${ctx}`;
    this.record({
      model,
      outcome: 'skipped',
      failure: 'context_overflow',
      message,
      latencyMs: 0,
      retry: 0,
      startedAtMs: this.deps.clock.now() - this.startedAt,
    });
    return false;
  }

  private halt(why: 'cancelled' | 'deadline', message: string): void {
    if (this.stopped) return;
    this.stopped = why;
    this.ctl.abort(message);
  }

  private result(won: Won): CompleteResult {
    // A fallback is another model failing or being refused first. A race or hedge loser that was
    // merely slower is not one: the strategy chose to run it in parallel.
    const failedElsewhere = this.attempts.some(
      (a) => a.model !== won.model && (a.outcome === 'error' || a.outcome === 'timeout' || a.outcome === 'skipped'),
    );
    const r: CompleteResult = {
      text: won.result.text,
      modelUsed: won.model,
      fallbackOccurred: failedElsewhere,
      attempts: [...this.attempts],
      totalLatencyMs: this.deps.clock.now() - this.startedAt,
      queuedMs: this.queue.totalMs,
      finishReason: won.result.finishReason,
    };
    if (won.result.usage) r.usage = won.result.usage;
    if (won.result.toolCalls?.length) r.toolCalls = won.result.toolCalls;
    if (won.result.logprobs !== undefined) r.logprobs = won.result.logprobs;
    if (won.result.ignoredParams?.length) r.ignoredParams = won.result.ignoredParams;
    return r;
  }

  private stopError(why: 'cancelled' | 'deadline'): EngineError {
    const attempts = [...this.attempts];
    if (why === 'cancelled')
      return new EngineError(ErrorCodes.RequestCancelled, 'The request was cancelled by the caller.', { attempts });
    const ms = this.deadlineAt - this.startedAt;
    return new EngineError(
      ErrorCodes.Timeout,
      `The request did not finish within its ${humanDuration(ms)} deadline (params.timeoutMs or requestTimeoutMs) after ${attempts.length} attempt(s)${summarize(attempts)}. Raise the deadline or put a faster model first in the chain.`,
      { attempts },
    );
  }

  /** A refusal that ends the request (endsRequest): the caller's error, naming the model and the policy. */
  private refusedError(o: Failed): EngineError {
    const e = new EngineError(ErrorCodes.InvalidParams, contentPolicyMessage(o.model, o.message), {
      attempts: [...this.attempts],
    });
    e.data.kind = o.kind;
    return e;
  }

  private exhaustedError(last?: Failed): EngineError {
    const now = this.deps.clock.now();
    if (this.queueError && this.attempts.every((a) => a.outcome === 'skipped')) {
      return new EngineError(this.queueError.code, `${this.queueError.message}${summarize(this.attempts)}`, {
        attempts: [...this.attempts],
      });
    }
    const guarded = privacyError(this.req, this.attempts);
    if (guarded) return guarded;
    const unsupported = this.attempts.filter((a) => a.failure === 'unsupported');
    if (unsupported.length > 0 && unsupported.length === this.attempts.length) {
      const needs = this.needs.capabilities.length ? ` (it needs ${this.needs.capabilities.join(', ')})` : '';
      return new EngineError(
        ErrorCodes.Unsupported,
        `No model in the chain can serve this request${needs}: ${unsupported.map((a) => `${a.model} ${a.message ?? ''}`.trim()).join('; ')}. Add a model that can to the chain, or set providers[].modelInfo[name].capabilities if one can.`,
        { attempts: [...this.attempts] },
      );
    }
    const known = this.chain.filter((m) => this.deps.resolve(m));
    const until = known.length > 0 ? this.deps.health.nextRecovery(known) : undefined;
    const retryAfterMs = until === undefined ? undefined : Math.max(0, until - now);
    const attempts = [...this.attempts];
    const models = this.chain.length;
    const message =
      models === 0
        ? 'The chain is empty: there is no model to call. Set backstop.chain (or pass params.chain) to at least one model.'
        : `No model in the chain could answer${summarize(attempts)}.` +
          (retryAfterMs === undefined
            ? ''
            : ` The first is back ${retryAfterMs > 0 ? `in ${humanWait(retryAfterMs)}` : 'now'}: retry then, or add another model to the chain.`);
    const data: ConstructorParameters<typeof EngineError>[2] = { attempts };
    if (retryAfterMs !== undefined) data.retryAfterMs = retryAfterMs;
    const primary = last
      ? { model: last.model, failure: last.kind, message: last.message }
      : lastFailure(attempts, this.chain[0]);
    if (primary && this.deps.plan) {
      try {
        const plan = this.deps.plan({
          ...primary,
          request: this.req,
          attempts,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        });
        if (plan) data.plan = plan;
      } catch {
        // A plan is advice: without one the caller still gets the attempts and the wait.
      }
    }
    return new EngineError(ErrorCodes.Exhausted, message, data);
  }

  private emitFallback(from: Failed, to: string): void {
    if (from.model === to) return;
    this.opts.onFallback?.(from.model, to);
    this.emit({
      type: 'fallback',
      requestId: this.opts.requestId,
      from: from.model,
      to,
      failure: from.kind,
      message: from.message,
    });
  }

  private emit(e: Parameters<NonNullable<EngineDeps['onEvent']>>[0]): void {
    try {
      this.deps.onEvent?.(e);
    } catch {
      // A listener's bug must not change the answer.
    }
  }
}

/** ": a — server_error: 503; b — skipped: circuit open" — the last word on each model. */
function summarize(attempts: Attempt[]): string {
  const byModel = new Map<string, Attempt>();
  for (const a of attempts) byModel.set(a.model, a);
  if (byModel.size === 0) return '';
  return (
    ': ' +
    [...byModel.values()]
      .map((a) => {
        const kind = a.outcome === 'skipped' ? 'skipped' : (a.failure ?? a.outcome).replace(/_/g, ' ');
        // Provider messages often start with the model id already ("fake/x: rate limited (HTTP 429)").
        const raw = a.message ?? '';
        const msg = raw.startsWith(`${a.model}: `) ? raw.slice(a.model.length + 2) : raw;
        return `${a.model} (${msg.startsWith(kind) ? msg : `${kind}${msg ? `: ${msg}` : ''}`})`;
      })
      .join('; ')
  );
}

function lastFailure(
  attempts: Attempt[],
  model: string | undefined,
): { model: string; failure: FailureKind; message: string } | undefined {
  const a = [...attempts].reverse().find((x) => x.model === model) ?? attempts[attempts.length - 1];
  return a ? { model: a.model, failure: a.failure ?? 'unknown', message: a.message ?? '' } : undefined;
}

/** Resolve like `p`, or reject as soon as `signal` aborts; a slot granted after that is given back. */
function untilAborted(p: Promise<() => void>, signal: Abortable): Promise<() => void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      void p.then(
        (release) => release(),
        () => {},
      );
      return reject(signal.reason);
    }
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (release) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) release();
        else resolve(release);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
