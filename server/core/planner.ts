// The decision engine: a failure kind plus context → ranked FallbackOptions, each with a confidence,
// an expected wait and a message a person understands. Pure: fit estimates, waits and download
// sources are computed by the caller and passed in as functions.
import { modelNameOf, providerOf } from '../../protocol/modelId';
import type { Attempt, FailureKind, FallbackOption, FallbackPlan, ModelInfo, Requirements } from '../../protocol/types';
import { fmtGb, rankCandidates } from './scoring';

export type FitEstimate = { ramBytes: number; vramBytes: number; fits: boolean };
export type DownloadSource = { kind: 'ollama_pull' | 'gguf_url'; url?: string; sizeBytes?: number };

export interface PlanContext {
  model: string;
  failure: FailureKind;
  message?: string;
  retryAfterMs?: number;
  models: ModelInfo[];
  requirements?: Requirements;
  mockGeneration: boolean;
  /** Time until `model` could start serving a new request (queue, cooldown, download). */
  waitMs?: (model: string) => number | undefined;
  freeMemoryBytes?: number;
  /** For OOM: estimated RAM/VRAM for a context size and GPU layers (GgufInsights, by the caller). */
  estimateFit?: (model: string, opts: { contextSize: number; gpuLayers: number }) => FitEstimate | undefined;
  downloadSource?: (model: string) => DownloadSource | undefined;
  /** Every model of the chain failed or is cooling down. */
  exhausted?: boolean;
  /** The request's maxTokens, capped by reduce_requirements. */
  maxTokens?: number;
  /** The clock now: recent failures of the candidates count against them ("ran out of memory 2 s ago"). */
  now?: number;
  /** Models that already failed this very request, and how: never proposed as its alternative. */
  failedInRequest?: ReadonlyMap<string, FailureKind>;
}

/** Smallest context the OOM search proposes: below this a chat prompt plus answer no longer fits. */
export const MIN_CONTEXT_SIZE = 512;
/** Context assumed for a local model that reports neither its configured nor its trained context. */
export const DEFAULT_CONTEXT_SIZE = 4096;
/** An answer needs room: maxTokens is capped at this fraction of the reduced context. */
export const MAX_TOKENS_CONTEXT_FRACTION = 0.25;
/** Output length assumed when turning a benchmark's tokens/s into an answer time. */
export const EXPECTED_ANSWER_TOKENS = 256;
/** Answer times assumed without a benchmark: cloud APIs stream fast, local CPU models do not. */
export const DEFAULT_CLOUD_ANSWER_MS = 3_000;
export const DEFAULT_LOCAL_ANSWER_MS = 10_000;
/** A rate limit without Retry-After: most APIs reset per minute; half of it is the expected wait. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 30_000;
/** Download time assumed when only the size is known (a modest home connection). */
export const ASSUMED_DOWNLOAD_BYTES_PER_S = 10 * 1024 * 1024;
/** A hybrid is worth it when the preferred model is at least this far away. */
export const HYBRID_MIN_WAIT_MS = 10_000;
/** Alternatives scoring below this are listed but not recommended: they differ too much. */
export const MIN_RECOMMEND_SCORE = 0.45;

const CONF = {
  retryAfterKnown: 0.85,
  waitGuessed: 0.5,
  reduceFits: 0.8,
  reduceUnverified: 0.4,
  download: 0.6,
  mock: 0.05,
  lastResort: 0.1,
  rejectedByPolicy: 0.5,
  networkCloud: 0.3,
} as const;

/** The models that failed (or could not serve) a request, by the last way they failed; cancels aside. */
export function failedModels(attempts: readonly Attempt[] | undefined): Map<string, FailureKind> {
  const out = new Map<string, FailureKind>();
  for (const a of attempts ?? []) if (a.failure && a.failure !== 'cancelled') out.set(a.model, a.failure);
  return out;
}

export function planFallback(ctx: PlanContext): FallbackPlan {
  const self = ctx.models.find((m) => m.id === ctx.model);
  const options = ctx.exhausted ? exhaustedOptions(ctx, self) : optionsFor(ctx, self);
  if (ctx.mockGeneration) {
    options.push({
      type: 'mock_generation',
      confidence: CONF.mock,
      estimatedWaitMs: 0,
      message: 'Mock answer (mockGeneration is on): a clearly labelled placeholder, not produced by any model.',
    });
  }
  const real = options.filter((o) => o.type !== 'mock_generation');
  if (real.length === 0 && !ctx.mockGeneration) {
    real.push({
      type: 'queue_and_wait',
      model: ctx.model,
      confidence: CONF.lastResort,
      ...waitField(ctx.waitMs?.(ctx.model)),
      message: `No other model can take over from ${ctx.model}: wait for it to recover, or add a ready model to the chain.`,
    });
  }
  const recommended = pickRecommended(ctx, real) ?? options[0];
  if (!recommended) throw new Error('planner produced no option'); // unreachable: see the fallback above
  const rest = [...real, ...options.filter((o) => o.type === 'mock_generation')].filter((o) => o !== recommended);
  rest.sort(
    (a, b) =>
      Number(a.type === 'mock_generation') - Number(b.type === 'mock_generation') || b.confidence - a.confidence,
  );
  return { failure: ctx.failure, recommended, options: [recommended, ...rest] };
}

function optionsFor(ctx: PlanContext, self: ModelInfo | undefined): FallbackOption[] {
  const who = ctx.model;
  switch (ctx.failure) {
    case 'model_missing':
    case 'model_load':
      return [...alternatives(ctx, self), ...download(ctx, self)];
    case 'out_of_memory':
      return [...reduce(ctx, self), ...alternatives(ctx, self, { lighterThan: self })];
    case 'rate_limited':
      return [queueAndWait(ctx, ctx.retryAfterMs, `${who} is rate limited`), ...alternatives(ctx, self)];
    case 'network': {
      const alts = alternatives(ctx, self);
      // Offline: local models keep working; other cloud models probably share the outage.
      const local = alts
        .filter((o) => kindOf(ctx, o.model) === 'local')
        .map((o) => ({ ...o, message: `${o.message} Works offline.` }));
      const cloud = alts
        .filter((o) => kindOf(ctx, o.model) !== 'local')
        .map((o) => ({ ...o, confidence: round2(o.confidence * CONF.networkCloud) }));
      return [...local, ...cloud, queueAndWait(ctx, undefined, `${who} is unreachable (network)`)];
    }
    case 'auth': {
      const provider = providerOf(who);
      const hint = `${who} rejected the API key: set a valid key for provider "${provider}" (command "Backstop: Set API Key", or the provider's apiKeyEnv variable).`;
      const alts = alternatives(ctx, self).map((o) => ({ ...o, message: `${hint} Meanwhile: ${o.message}` }));
      return alts.length > 0
        ? alts
        : [{ type: 'queue_and_wait', model: who, confidence: CONF.lastResort, message: hint }];
    }
    case 'context_overflow': {
      const need = Math.max(
        (self?.fit?.contextSize ?? self?.contextLength ?? 0) + 1,
        ctx.requirements?.minContext ?? 0,
      );
      return alternatives(ctx, self, { minContext: need }).map((o) => ({
        ...o,
        message: `The prompt is longer than ${who}'s context. ${o.message}`,
      }));
    }
    case 'content_filter':
    case 'bad_request': {
      const why =
        ctx.failure === 'content_filter'
          ? `${who}'s content filter refused the request`
          : `${who} rejected the request as invalid`;
      const detail = ctx.message ? ` (${ctx.message})` : '';
      // Another model may refuse the same thing: lower confidence, and say rephrasing may be the fix.
      return alternatives(ctx, self).map((o) => ({
        ...o,
        confidence: round2(o.confidence * CONF.rejectedByPolicy),
        message: `${why}${detail}; rephrasing may help. ${o.message}`,
      }));
    }
    default: // timeout, server_error, stream_interrupted, cancelled, unknown: transient, so wait or switch
      return [
        ...alternatives(ctx, self),
        queueAndWait(ctx, ctx.retryAfterMs, `${who} failed (${ctx.failure.replace('_', ' ')})`),
      ];
  }
}

function exhaustedOptions(ctx: PlanContext, self: ModelInfo | undefined): FallbackOption[] {
  const wait = ctx.retryAfterMs ?? ctx.waitMs?.(ctx.model);
  const out: FallbackOption[] = [queueAndWait(ctx, wait, `every model of the chain failed or is cooling down`)];
  const now = alternatives(ctx, self);
  const first = now[0];
  if (first?.model) {
    out.push({
      type: 'hybrid',
      model: first.model,
      confidence: first.confidence,
      estimatedWaitMs: first.estimatedWaitMs ?? 0,
      adjustments: { upgradeTo: ctx.model },
      message: `Answer now with ${first.model}, then switch back to ${ctx.model} when it recovers${wait !== undefined ? ` (in about ${fmtS(wait)})` : ''}.`,
    });
  }
  return [...out, ...now];
}

/** Available alternatives as options, best first. */
function alternatives(
  ctx: PlanContext,
  self: ModelInfo | undefined,
  f: { minContext?: number; lighterThan?: ModelInfo | undefined } = {},
): FallbackOption[] {
  const req: Requirements = { ...ctx.requirements };
  if (f.minContext) req.minContext = Math.max(req.minContext ?? 0, f.minContext);
  const pool = ctx.models.filter((m) => {
    if (f.minContext && (m.contextLength ?? 0) < f.minContext) return false;
    if (f.lighterThan?.sizeBytes && m.kind === 'local' && (m.sizeBytes ?? Infinity) >= f.lighterThan.sizeBytes)
      return false;
    return true;
  });
  const live = {
    failure: ctx.failure,
    ...(ctx.now !== undefined ? { now: ctx.now } : {}),
    ...(ctx.waitMs ? { waitMs: ctx.waitMs } : {}),
  };
  return rankCandidates(self ?? { id: ctx.model }, pool, req, live)
    .filter((r) => r.suggestion.available && r.meetsRequirements && !ctx.failedInRequest?.has(r.suggestion.model))
    .map(({ suggestion: s, health }) => {
      const quality =
        s.qualityDelta <= -0.05
          ? `, likely lower quality (${s.qualityDelta.toFixed(2)})`
          : s.qualityDelta >= 0.05
            ? `, likely better quality (+${s.qualityDelta.toFixed(2)})`
            : '';
      const light = f.lighterThan ? ' (lighter, fits in memory)' : '';
      return {
        type: 'alternative_model' as const,
        model: s.model,
        confidence: round2(s.score),
        estimatedWaitMs: s.estimatedWaitMs ?? 0,
        message: `Use ${s.model}${light} instead of ${ctx.model}: compatibility ${Math.round(s.score * 100)} %${quality}${health.length ? `; ${health.join(', ')}` : ''}.`,
      };
    });
}

function queueAndWait(ctx: PlanContext, waitMs: number | undefined, why: string): FallbackOption {
  const known = waitMs !== undefined;
  const wait =
    waitMs ?? ctx.waitMs?.(ctx.model) ?? (ctx.failure === 'rate_limited' ? DEFAULT_RATE_LIMIT_WAIT_MS : undefined);
  return {
    type: 'queue_and_wait',
    model: ctx.model,
    confidence: known ? CONF.retryAfterKnown : CONF.waitGuessed,
    ...waitField(wait),
    message: `${cap(why)}: queue the request and retry ${ctx.model}${wait !== undefined ? ` in about ${fmtS(wait)}${known ? '' : ' (estimated)'}` : ' when it recovers'}.`,
  };
}

function download(ctx: PlanContext, self: ModelInfo | undefined): FallbackOption[] {
  const src = ctx.downloadSource?.(ctx.model);
  if (!src) return [];
  const size = src.sizeBytes ?? self?.sizeBytes;
  const wait = ctx.waitMs?.(ctx.model) ?? (size ? (size / ASSUMED_DOWNLOAD_BYTES_PER_S) * 1000 : undefined);
  const name = modelNameOf(ctx.model);
  const how =
    src.kind === 'ollama_pull'
      ? `pull it with Ollama ("ollama pull ${name}")`
      : `download it from ${src.url ?? 'its recorded source'} (resumable, checksum verified)`;
  return [
    {
      type: 'download_and_retry',
      model: ctx.model,
      confidence: CONF.download,
      ...waitField(wait),
      adjustments: { source: src.kind, ...(src.url ? { url: src.url } : {}), ...(size ? { sizeBytes: size } : {}) },
      message: `${ctx.model} is not on this machine: ${how}${size ? `, ${fmtGb(size)}` : ''}${wait !== undefined ? `, about ${fmtS(wait)}` : ''}, then retry.`,
    },
  ];
}

/** OOM: search for settings that fit — halve the context down to MIN_CONTEXT_SIZE, and at each
 *  size try fewer GPU layers — keeping the largest context that fits, then the most GPU layers. */
function reduce(ctx: PlanContext, self: ModelInfo | undefined): FallbackOption[] {
  const ctxSize =
    self?.fit?.contextSize ?? Math.min(self?.contextLength ?? DEFAULT_CONTEXT_SIZE, DEFAULT_CONTEXT_SIZE * 2);
  const layers = self?.fit?.gpuLayers ?? 0;
  const free = ctx.freeMemoryBytes;
  const current = ctx.estimateFit?.(ctx.model, { contextSize: ctxSize, gpuLayers: layers });
  const need = current
    ? `${ctx.model} needs ${fmtGb(current.ramBytes + current.vramBytes)} at ctx ${ctxSize}${free !== undefined ? ` but ${fmtGb(free)} is free` : ''}`
    : `${ctx.model} ran out of memory at ctx ${ctxSize}`;
  if (!ctx.estimateFit) {
    if (ctxSize / 2 < MIN_CONTEXT_SIZE) return [];
    const contextSize = Math.floor(ctxSize / 2);
    return [
      {
        type: 'reduce_requirements',
        model: ctx.model,
        confidence: CONF.reduceUnverified,
        estimatedWaitMs: 0,
        adjustments: { contextSize, maxTokens: capTokens(ctx, contextSize) },
        message: `${need}: retry with ctx ${contextSize} (not verified: no memory estimate available).`,
      },
    ];
  }
  for (let size = Math.floor(ctxSize / 2); size >= MIN_CONTEXT_SIZE; size = Math.floor(size / 2)) {
    for (const gpu of layerSteps(layers)) {
      const est = ctx.estimateFit(ctx.model, { contextSize: size, gpuLayers: gpu });
      if (!est?.fits) continue;
      const adjustments: Record<string, number> = {
        contextSize: size,
        gpuLayers: gpu,
        maxTokens: capTokens(ctx, size),
      };
      const gpuText = gpu !== layers ? ` and ${gpu} GPU layers` : '';
      return [
        {
          type: 'reduce_requirements',
          model: ctx.model,
          confidence: CONF.reduceFits,
          estimatedWaitMs: 0,
          adjustments,
          message: `${need}: retry with ctx ${size}${gpuText} (needs about ${fmtGb(est.ramBytes + est.vramBytes)}, fits).`,
        },
      ];
    }
  }
  return [];
}

function layerSteps(layers: number): number[] {
  const out = [layers];
  for (let l = Math.floor(layers / 2); l > 0; l = Math.floor(l / 2)) out.push(l);
  if (layers > 0) out.push(0);
  return out;
}

function capTokens(ctx: PlanContext, contextSize: number): number {
  const cap = Math.floor(contextSize * MAX_TOKENS_CONTEXT_FRACTION);
  return ctx.maxTokens !== undefined ? Math.min(ctx.maxTokens, cap) : cap;
}

/** The option with the shortest expected time to an answer among confident real ones; ties → confidence. */
function pickRecommended(ctx: PlanContext, real: FallbackOption[]): FallbackOption | undefined {
  // Same model, verified to fit: keeps the quality the user chose, so it beats any lighter model.
  const reduced = real.find((o) => o.type === 'reduce_requirements' && o.confidence >= CONF.reduceFits);
  if (reduced) return reduced;
  const viable = real.filter(
    (o) => o.type !== 'alternative_model' || o.confidence >= MIN_RECOMMEND_SCORE * confidenceScale(ctx),
  );
  const pool = viable.length > 0 ? viable : real;
  if (ctx.failure === 'network')
    return pool.find((o) => kindOf(ctx, o.model) === 'local' && o.type === 'alternative_model') ?? pool[0];
  let best: { o: FallbackOption; t: number } | undefined;
  for (const o of pool) {
    const t = (o.estimatedWaitMs ?? Infinity) + answerMs(ctx, o.model);
    if (!best || t < best.t || (t === best.t && o.confidence > best.o.confidence)) best = { o, t };
  }
  return best?.o;
}

function confidenceScale(ctx: PlanContext): number {
  return ctx.failure === 'content_filter' || ctx.failure === 'bad_request' ? CONF.rejectedByPolicy : 1;
}

/** Expected time for `model` to produce an answer once it starts: benchmark, else a default. */
export function answerMs(ctx: PlanContext, model: string | undefined): number {
  const m = ctx.models.find((x) => x.id === model);
  const b = m?.benchmark;
  if (b?.tokensPerSecond) return (b.ttftMs ?? 0) + (EXPECTED_ANSWER_TOKENS / b.tokensPerSecond) * 1000;
  return m?.kind === 'cloud' ? DEFAULT_CLOUD_ANSWER_MS : DEFAULT_LOCAL_ANSWER_MS;
}

function kindOf(ctx: PlanContext, model: string | undefined): 'local' | 'cloud' | undefined {
  return ctx.models.find((m) => m.id === model)?.kind;
}

function waitField(ms: number | undefined): { estimatedWaitMs?: number } {
  return ms === undefined ? {} : { estimatedWaitMs: Math.round(ms) };
}

function fmtS(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** Capitalise a sentence, but never a model id ("local/tiny is …" stays as written). */
function cap(s: string): string {
  return /^\S+\//.test(s) ? s : s.charAt(0).toUpperCase() + s.slice(1);
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
