// A scriptable Provider on a FakeClock: per model, a queue of behaviours (deltas at given times,
// then finish / fail / hang / end without a finish reason). Every call is recorded with its clock
// time and whether (and when) it was aborted, so tests assert on attempts and gaps.
import type { Capability, FailureKind, ToolCall, Usage } from '../../protocol/types';
import { defaultConfig } from '../../protocol/config';
import {
  Engine,
  type EngineConfig,
  type EngineDeps,
  type EngineEvent,
  type EngineRequest,
  type ResolvedModel,
  type RunOptions,
} from '../../server/core/engine';
import { HealthRegistry, type CircuitConfig } from '../../server/core/health';
import {
  ProviderError,
  type Clock,
  type GenerateOptions,
  type GenerateRequest,
  type GenerateResult,
  type Provider,
  type Store,
} from '../../server/core/types';
import { FakeClock } from './fakeClock';

export interface FakeStep {
  /** [ms after the call starts, text] */
  deltas?: Array<[number, string]>;
  /** finish: resolve with a finish reason; noFinish: resolve with an empty one; fail: reject; hang: never settle. */
  end: 'finish' | 'noFinish' | 'fail' | 'hang';
  /** When the call ends, ms after it started (default: at the last delta). */
  endAtMs?: number;
  error?: { kind: FailureKind; status?: number; retryAfterMs?: number; message?: string };
  usage?: Usage;
  /** Keep running after the abort signal (a misbehaving provider). */
  ignoreAbort?: boolean;
  /** Tool calls the answer carries (with finishReason "tool_calls"). */
  toolCalls?: ToolCall[];
  finishReason?: string;
}

export interface FakeCall {
  model: string;
  at: number;
  request: GenerateRequest;
  abortedAt?: number;
  settledAt?: number;
  outcome?: 'finish' | 'noFinish' | 'fail' | 'aborted';
}

type Script = (call: number, now: number) => FakeStep;

/** A successful stream: `text` split into words, the first at `ttftMs`, then one every `tokenMs`. */
export function ok(text: string, o: { ttftMs?: number; tokenMs?: number } = {}): FakeStep {
  return { deltas: words(text, o.ttftMs ?? 10, o.tokenMs ?? 10), end: 'finish' };
}

export function fail(
  kind: FailureKind,
  o: {
    status?: number;
    retryAfterMs?: number;
    message?: string;
    afterMs?: number;
    deltas?: Array<[number, string]>;
  } = {},
): FakeStep {
  const error: NonNullable<FakeStep['error']> = {
    kind,
    message: o.message ?? `${kind}${o.status ? ` (HTTP ${o.status})` : ''}`,
  };
  if (o.status !== undefined) error.status = o.status;
  if (o.retryAfterMs !== undefined) error.retryAfterMs = o.retryAfterMs;
  const step: FakeStep = { end: 'fail', error, endAtMs: o.afterMs ?? 5 };
  if (o.deltas) step.deltas = o.deltas;
  return step;
}

/** Accepts and never answers. */
export function hang(o: { ignoreAbort?: boolean } = {}): FakeStep {
  return { end: 'hang', ...(o.ignoreAbort ? { ignoreAbort: true } : {}) };
}

/** `n` tokens of `text` (every `tokenMs`), then silence forever. */
export function stallAfter(n: number, text: string, tokenMs = 10): FakeStep {
  return { deltas: words(text, tokenMs, tokenMs).slice(0, n), end: 'hang' };
}

/** `n` tokens, then the connection breaks (the provider classifies it as stream_interrupted). */
export function cutAfter(n: number, text: string, tokenMs = 10): FakeStep {
  const deltas = words(text, tokenMs, tokenMs).slice(0, n);
  return {
    deltas,
    end: 'fail',
    endAtMs: (deltas[deltas.length - 1]?.[0] ?? 0) + 1,
    error: { kind: 'stream_interrupted', message: `stream cut after ${n} tokens` },
  };
}

/** Streams `text`, then resolves without a finish reason (a truncated answer). */
export function noFinish(text: string): FakeStep {
  return { deltas: words(text, 10, 10), end: 'noFinish' };
}

export function words(text: string, firstMs: number, everyMs: number): Array<[number, string]> {
  return (text.match(/\S+\s*/g) ?? []).map((w, i) => [firstMs + i * everyMs, w]);
}

export class FakeProvider implements Provider {
  readonly id = 'fake';
  readonly type = 'openai-compatible' as const;
  readonly kind = 'cloud' as const;
  readonly calls: FakeCall[] = [];
  private readonly scripts = new Map<string, Script>();

  constructor(private readonly clock: Clock) {}

  /** Behaviours for `model`, one per call, in order; the last one repeats. */
  script(model: string, ...steps: FakeStep[]): this {
    if (steps.length === 0) throw new Error('script needs at least one step');
    return this.scriptFn(model, (call) => steps[Math.min(call, steps.length - 1)] as FakeStep);
  }

  /** Behaviour computed from the call index (0-based, per model) and the clock. */
  scriptFn(model: string, fn: Script): this {
    this.scripts.set(model, fn);
    return this;
  }

  callsTo(model: string): FakeCall[] {
    return this.calls.filter((c) => c.model === model);
  }

  generate(request: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult> {
    const script = this.scripts.get(request.model);
    if (!script) return Promise.reject(new ProviderError('model_missing', `fake: no script for "${request.model}"`));
    const call: FakeCall = { model: request.model, at: this.clock.now(), request };
    const step = script(this.callsTo(request.model).length, call.at);
    this.calls.push(call);
    return new Promise<GenerateResult>((resolve, reject) => {
      const timers: unknown[] = [];
      let text = '';
      const settle = (outcome: FakeCall['outcome']) => {
        call.settledAt = this.clock.now();
        call.outcome = outcome;
        for (const t of timers) this.clock.clearTimeout(t);
      };
      const onAbort = () => {
        call.abortedAt = this.clock.now();
        if (step.ignoreAbort) return;
        settle('aborted');
        reject(new ProviderError('cancelled', 'aborted'));
      };
      if (opts.signal.aborted) return onAbort();
      opts.signal.addEventListener('abort', onAbort, { once: true });
      for (const [at, d] of step.deltas ?? []) {
        timers.push(
          this.clock.setTimeout(() => {
            text += d;
            opts.onDelta?.(d);
          }, at),
        );
      }
      if (step.end === 'hang') return;
      const endAt = step.endAtMs ?? step.deltas?.[step.deltas.length - 1]?.[0] ?? 0;
      timers.push(
        this.clock.setTimeout(() => {
          opts.signal.removeEventListener('abort', onAbort);
          settle(step.end === 'hang' ? undefined : step.end);
          const usage = step.usage ?? { promptTokens: 5, completionTokens: step.deltas?.length ?? 0 };
          if (step.end === 'fail') {
            const e = step.error ?? { kind: 'server_error' as const };
            const o: { status?: number; retryAfterMs?: number } = {};
            if (e.status !== undefined) o.status = e.status;
            if (e.retryAfterMs !== undefined) o.retryAfterMs = e.retryAfterMs;
            reject(new ProviderError(e.kind, e.message ?? e.kind, o));
          } else if (step.end === 'noFinish') {
            // No finish reason: the engine must treat it as a truncated stream.
            resolve({ text, usage, finishReason: '' });
          } else {
            resolve({
              text,
              usage,
              finishReason: step.finishReason ?? 'stop',
              ...(step.toolCalls ? { toolCalls: step.toolCalls } : {}),
            });
          }
        }, endAt),
      );
    });
  }
}

/** Model ids "fake/<name>" served by `provider`; optional context lengths by name. */
export function fakeResolver(
  provider: Provider,
  contexts: Record<string, number> = {},
  capabilities: Record<string, Capability[]> = {},
): (id: string) => ResolvedModel | undefined {
  return (id) => {
    if (!id.startsWith('fake/')) return undefined;
    const name = id.slice('fake/'.length);
    const r: ResolvedModel = { id, provider, name, kind: 'cloud' };
    const ctx = contexts[name];
    if (ctx !== undefined) r.contextLength = ctx;
    const caps = capabilities[name];
    if (caps !== undefined) r.capabilities = caps;
    return r;
  };
}

export interface HarnessOptions {
  config?: Partial<EngineConfig>;
  circuit?: Partial<CircuitConfig>;
  contexts?: Record<string, number>;
  /** Known capabilities by model name (unknown: every request may try the model). */
  capabilities?: Record<string, Capability[]>;
  random?: () => number;
  store?: Store;
  /** A queue stand-in, built on the harness clock. */
  acquire?: (clock: FakeClock) => NonNullable<EngineDeps['acquire']>;
  plan?: EngineDeps['plan'];
  adjust?: EngineDeps['adjust'];
}

/** An Engine over a FakeProvider and a FakeClock with the protocol's default configuration. */
export function setupEngine(o: HarnessOptions = {}) {
  const clock = new FakeClock();
  const provider = new FakeProvider(clock);
  const defaults = defaultConfig();
  const config: EngineConfig = { ...defaults, ...o.config };
  const circuit: CircuitConfig = { ...defaults.circuit, ...o.circuit };
  const transitions: Array<{ model: string; from: string; to: string; why: string; at: number }> = [];
  const health = new HealthRegistry({
    clock,
    config: () => circuit,
    ...(o.store ? { store: o.store } : {}),
    onTransition: (model, from, to, why) => transitions.push({ model, from, to, why, at: clock.now() }),
  });
  const events: EngineEvent[] = [];
  const deps: EngineDeps = {
    clock,
    random: o.random ?? (() => 0.5),
    health,
    config: () => config,
    resolve: fakeResolver(provider, o.contexts, o.capabilities),
    onEvent: (e) => events.push(e),
  };
  if (o.acquire) deps.acquire = o.acquire(clock);
  if (o.plan) deps.plan = o.plan;
  if (o.adjust) deps.adjust = o.adjust;
  const engine = new Engine(deps);
  let seq = 0;
  /** Start a request (chain of bare names, "fake/" added) without advancing the clock. */
  const start = (chain: string[], params: Partial<EngineRequest> = {}, opts: Partial<RunOptions> = {}) =>
    engine.run(
      { prompt: 'hello', ...params, chain: chain.map((m) => `fake/${m}`) },
      { requestId: `r${++seq}`, signal: new AbortController().signal, ...opts },
    );
  /** Run a request to completion on the fake clock; returns its result or the error it threw. */
  const run = async (chain: string[], params: Partial<EngineRequest> = {}, opts: Partial<RunOptions> = {}) => {
    const p = start(chain, params, opts);
    const outcome = p.then(
      (r) => ({ ok: true as const, r }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    return clock.run(outcome, 3_600_000, 50);
  };
  return { clock, provider, health, engine, events, transitions, config, circuit, start, run };
}
