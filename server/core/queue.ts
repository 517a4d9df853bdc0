// One priority queue per model with its own concurrency. critical > high > normal > low, FIFO within a
// level, aging so low never starves; bounded (queue.maxSize), with expiry (queue.maxWaitMs) and
// cancellation. Dispatch is synchronous: the moment a slot frees or poke() reports the model is back.
// A full queue admits a request by displacing the lowest-priority waiting one, when that one ranks
// strictly lower: a critical request is never refused while low-priority ones wait.
import { ErrorCodes } from '../../protocol/errors';
import { PRIORITIES, type Priority, type QueueItem, type WaitEstimate } from '../../protocol/types';
import type { Abortable } from './cancel';
import type { Clock } from './types';
import { effectiveLevel, type EstimateContext, type QueuedWork, type WaitEstimator } from './waitEstimate';

/** A waiting item rises one priority level per AGING_MS waited. 60 s is longer than a typical local
 *  completion (seconds to tens of seconds), so priority still decides the order within an ordinary
 *  burst; and `low` reaches `critical` after 3 × 60 s = 3 min, well inside the default
 *  queue.maxWaitMs of 10 min, so a low request reaches the head of the line long before it expires.
 *  At equal effective level the earlier arrival goes first, so an aged item also beats new arrivals. */
export const AGING_MS = 60_000;

export type QueueErrorKind = 'queue_full' | 'timeout' | 'cancelled';
const CODES: Record<QueueErrorKind, number> = {
  queue_full: ErrorCodes.QueueFull,
  timeout: ErrorCodes.Timeout,
  cancelled: ErrorCodes.RequestCancelled,
};

export class QueueError extends Error {
  readonly code: number;
  readonly kind: QueueErrorKind;
  readonly model: string;
  constructor(kind: QueueErrorKind, model: string, message: string) {
    super(message);
    this.name = 'QueueError';
    this.kind = kind;
    this.code = CODES[kind];
    this.model = model;
  }
}

/** Frees the slot. Idempotent: a second call does nothing. */
export type Release = () => void;

/** What the queue cannot know by itself about a model: a download or a cooldown still to go. */
export interface WaitContext {
  downloadBytes?: number;
  bandwidthBytesPerS?: number;
  cooldownRemainingMs?: number;
}

export interface RequestQueueDeps {
  clock: Clock;
  maxSize: () => number;
  maxWaitMs: () => number;
  concurrency: (model: string) => number;
  /** False while the model cannot serve (cooldown, download); call poke() when that changes. */
  isAvailable?: (model: string) => boolean;
  estimator?: WaitEstimator;
  onChange?: () => void;
  newId?: () => string;
  waitContext?: (model: string) => WaitContext | undefined;
  /** Override AGING_MS (tests, or a deployment that wants stricter priorities). */
  agingMs?: number;
}

export interface AcquireOptions {
  /** Called synchronously with the item's id when the request has to wait. */
  onQueued?: (id: string) => void;
  /** Use this id (e.g. the JSON-RPC request id) unless it is already taken. */
  id?: string;
  /** Expected output tokens (the request's maxTokens): short and long requests get their own estimates. */
  expectedTokens?: number;
}

interface Waiter {
  id: string;
  model: string;
  priority: Priority;
  enqueuedAt: number;
  seq: number;
  tokens: number | undefined;
  resolve: (release: Release) => void;
  reject: (err: QueueError) => void;
  cleanup: () => void;
}

export class RequestQueue {
  private readonly deps: RequestQueueDeps;
  private readonly agingMs: number;
  private readonly waiting = new Map<string, Waiter[]>();
  private readonly byId = new Map<string, Waiter>();
  /** Start times of the requests holding a slot, per model. */
  private readonly slots = new Map<string, Map<number, { startedAt: number; tokens: number | undefined }>>();
  private seq = 0;
  private slotSeq = 0;

  constructor(deps: RequestQueueDeps) {
    this.deps = deps;
    this.agingMs = deps.agingMs ?? AGING_MS;
  }

  /** Resolves with a release() once a slot is free. Calls opts.onQueued(id) synchronously when it
   *  has to wait. Rejects with QueueError: queue_full, timeout (after maxWaitMs) or cancelled. */
  acquire(model: string, priority: Priority, signal: Abortable, opts: AcquireOptions = {}): Promise<Release> {
    return new Promise<Release>((resolve, reject) => {
      if (signal.aborted)
        return reject(new QueueError('cancelled', model, `request for ${model} was cancelled before it was queued`));
      this.deps.estimator?.observeArrival(model, priority);
      // The model may have become available without a poke(): serve those already waiting first.
      if (this.canRun(model) && this.dispatch(model)) this.changed();
      const list = this.waiting.get(model) ?? [];
      if (list.length === 0 && this.canRun(model)) return resolve(this.start(model, opts.expectedTokens));
      const max = this.deps.maxSize();
      if (this.byId.size >= max) {
        const victim = this.displaceable(priority);
        if (!victim) {
          return reject(
            new QueueError(
              'queue_full',
              model,
              `the queue is full: ${this.byId.size} request(s) already waiting, none of lower priority than this ${priority} one (queue.maxSize = ${max}); retry later, lower the load or raise queue.maxSize`,
            ),
          );
        }
        this.remove(victim.id);
        victim.reject(
          new QueueError(
            'queue_full',
            victim.model,
            `request ${victim.id} for ${victim.model} was displaced from the full queue by a ${priority}-priority request: it had the lowest priority of the ${max} waiting (${victim.priority}, queue.maxSize = ${max}); retry later, send it with a higher priority or raise queue.maxSize`,
          ),
        );
      }
      const id = opts.id && !this.byId.has(opts.id) ? opts.id : this.makeId();
      const maxWaitMs = this.deps.maxWaitMs();
      const onAbort = () => this.cancel(id);
      const timer = this.deps.clock.setTimeout(() => {
        if (!this.remove(id)) return;
        reject(
          new QueueError(
            'timeout',
            model,
            `waited ${fmtSeconds(maxWaitMs)} for a free slot on ${model} without getting one (queue.maxWaitMs = ${maxWaitMs}); the model is busy or unavailable: try another model or raise queue.maxWaitMs`,
          ),
        );
        this.changed();
      }, maxWaitMs);
      const w: Waiter = {
        id,
        model,
        priority,
        enqueuedAt: this.deps.clock.now(),
        seq: ++this.seq,
        tokens: opts.expectedTokens,
        resolve,
        reject,
        cleanup: () => {
          this.deps.clock.clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
        },
      };
      list.push(w);
      this.waiting.set(model, list);
      this.byId.set(id, w);
      signal.addEventListener('abort', onAbort, { once: true });
      this.changed();
      opts.onQueued?.(id);
    });
  }

  /** Remove a waiting item (`$/cancelRequest`, `backstop/queue/cancel`); false if it is not waiting. */
  cancel(id: string): boolean {
    const w = this.byId.get(id);
    if (!w || !this.remove(id)) return false;
    w.reject(new QueueError('cancelled', w.model, `request ${id} for ${w.model} was cancelled while queued`));
    this.changed();
    return true;
  }

  /** Waiting items, each model's in dispatch order, with position (0 = next) and the estimated
   *  time until it gets its slot (its own processing time is not included). */
  items(): QueueItem[] {
    const now = this.deps.clock.now();
    const out: QueueItem[] = [];
    for (const [model, list] of this.waiting) {
      // `list` is in arrival order (pushed in seq order, removals keep it): the replay's FIFO tie-break.
      const ests = this.estimateAll(
        model,
        list.map((w) => this.work(w, now)),
      );
      this.ordered(list, now).forEach((w, position) => {
        const est = ests?.[list.indexOf(w)];
        out.push({
          id: w.id,
          model,
          priority: w.priority,
          position,
          enqueuedAt: new Date(w.enqueuedAt).toISOString(),
          estimatedWaitMs: est ? Math.max(0, est.totalMs - est.factors.processingMs) : 0,
        });
      });
    }
    return out;
  }

  /** How long a NEW request at `priority` would take for `model` (`backstop/estimateWait`): totalMs
   *  includes its own processing; undefined without an estimator. */
  estimateNew(model: string, priority: Priority = 'normal', expectedTokens?: number): WaitEstimate | undefined {
    const now = this.deps.clock.now();
    const level = PRIORITIES.indexOf(priority);
    const list = this.waiting.get(model) ?? [];
    const position = list.filter((w) => this.level(w, now) <= level).length;
    const work = [...list.map((w) => this.work(w, now)), { priority, waitedMs: 0, tokens: expectedTokens }];
    return this.estimateAt(model, work, work.length - 1, position);
  }

  length(): number {
    return this.byId.size;
  }

  running(model: string): number {
    return this.slots.get(model)?.size ?? 0;
  }

  /** A model became available again (cooldown over, download done): dispatch what can run now. */
  poke(model?: string): void {
    const models = model === undefined ? [...this.waiting.keys()] : [model];
    let any = false;
    for (const m of models) any = this.dispatch(m) || any;
    if (any) this.changed();
  }

  private canRun(model: string): boolean {
    return this.running(model) < Math.max(1, this.deps.concurrency(model)) && (this.deps.isAvailable?.(model) ?? true);
  }

  private start(model: string, tokens: number | undefined): Release {
    const key = ++this.slotSeq;
    const startedAt = this.deps.clock.now();
    let running = this.slots.get(model);
    if (!running) {
      running = new Map();
      this.slots.set(model, running);
    }
    running.set(key, { startedAt, tokens });
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.slots.get(model)?.delete(key);
      // The slot-hold time is what queued requests wait on, whether the request succeeded or not.
      this.deps.estimator?.observe(model, this.deps.clock.now() - startedAt, tokens);
      if (this.dispatch(model)) this.changed();
    };
  }

  /** Hand free slots to the best waiting items; true if any was dispatched. */
  private dispatch(model: string): boolean {
    const list = this.waiting.get(model);
    let any = false;
    while (list && list.length > 0 && this.canRun(model)) {
      const next = this.ordered(list, this.deps.clock.now())[0];
      if (!next) break;
      this.remove(next.id);
      next.resolve(this.start(model, next.tokens));
      any = true;
    }
    return any;
  }

  /** The waiting item a new `priority` request may displace from a full queue: the lowest effective
   *  level (aging counts), the most recent arrival among equals (it has waited least), and only if it
   *  ranks strictly below the newcomer. */
  private displaceable(priority: Priority): Waiter | undefined {
    const now = this.deps.clock.now();
    const level = PRIORITIES.indexOf(priority);
    let victim: Waiter | undefined;
    for (const w of this.byId.values()) {
      const l = this.level(w, now);
      if (l <= level) continue;
      const best = victim ? this.level(victim, now) : -1;
      if (!victim || l > best || (l === best && w.seq > victim.seq)) victim = w;
    }
    return victim;
  }

  /** Effective level: the priority's index, one better per agingMs waited, never above critical. */
  private level(w: Waiter, now: number): number {
    return effectiveLevel(w.priority, now - w.enqueuedAt, this.agingMs);
  }

  private work(w: Waiter, now: number): QueuedWork {
    return { priority: w.priority, waitedMs: now - w.enqueuedAt, tokens: w.tokens };
  }

  private ordered(list: Waiter[], now: number): Waiter[] {
    return [...list].sort((a, b) => this.level(a, now) - this.level(b, now) || a.seq - b.seq);
  }

  /** Estimate for waiting[self]; the estimator simulates the whole list (priority, aging, FIFO). */
  private estimateAt(model: string, waiting: QueuedWork[], self: number, position: number): WaitEstimate | undefined {
    const me = waiting[self];
    const ctx = this.context(model, waiting);
    if (!ctx || !me) return undefined;
    ctx.self = self;
    ctx.position = position;
    ctx.priority = me.priority;
    ctx.waitedMs = me.waitedMs;
    if (me.tokens !== undefined) ctx.tokens = me.tokens;
    return this.deps.estimator?.estimate(model, ctx);
  }

  private estimateAll(model: string, waiting: QueuedWork[]): WaitEstimate[] | undefined {
    const ctx = this.context(model, waiting);
    return ctx && this.deps.estimator?.estimateAll(model, ctx);
  }

  private context(model: string, waiting: QueuedWork[]): EstimateContext | undefined {
    if (!this.deps.estimator) return undefined;
    const now = this.deps.clock.now();
    const running = [...(this.slots.get(model)?.values() ?? [])];
    return {
      ...this.deps.waitContext?.(model),
      position: 0,
      agingMs: this.agingMs,
      waiting,
      concurrency: Math.max(1, this.deps.concurrency(model)),
      running: running.length,
      runningElapsedMs: running.map((r) => now - r.startedAt),
      runningTokens: running.map((r) => r.tokens),
    };
  }

  private remove(id: string): boolean {
    const w = this.byId.get(id);
    if (!w) return false;
    this.byId.delete(id);
    w.cleanup();
    const list = this.waiting.get(w.model);
    if (list) {
      const i = list.indexOf(w);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.waiting.delete(w.model);
    }
    return true;
  }

  private makeId(): string {
    const fromDeps = this.deps.newId?.();
    if (fromDeps !== undefined && !this.byId.has(fromDeps)) return fromDeps;
    let n = this.seq + 1;
    while (this.byId.has(`q${n}`)) n += 1;
    return `q${n}`;
  }

  private changed(): void {
    this.deps.onChange?.();
  }
}

function fmtSeconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
