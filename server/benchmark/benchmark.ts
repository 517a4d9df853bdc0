// Measure a model the way llama-bench does (pp512 / tg128), through the same Provider the engine
// uses, so local and cloud models are compared on equal terms: time to first token, prompt
// tokens/s, generation tokens/s, the model's own memory for local models (`peakRssBytes`: its weights
// plus its context state, not the worker process's peak, which holds every model it ever loaded);
// N repetitions with mean and sample sd.
import type { BenchmarkResult } from '../../protocol/types';
import { isProviderError, type Provider, type Store } from '../core/types';

export const DEFAULT_REPETITIONS = 3;
export const DEFAULT_PROMPT_TOKENS = 512;
export const DEFAULT_MAX_TOKENS = 128;
/** Prompt shrinks (÷4 each) tried after a context overflow before giving up. */
const MAX_PROMPT_SHRINKS = 3;
/** English text runs about 4 characters per token with BPE vocabularies. */
const CHARS_PER_TOKEN = 4;
/** Room for BOS and the template around the prompt. */
const CONTEXT_MARGIN_TOKENS = 16;
const RSS_SAMPLE_MS = 100;

export interface BenchTarget {
  id: string;
  provider: Provider;
  /** Model name as the provider knows it (no provider prefix). */
  name: string;
  kind: 'local' | 'cloud';
  /** The model's own memory (weights + context state), once it has answered: reported when known. */
  memoryOf?: () => number | undefined;
  /** RSS of the process running the model: its peak is reported when `memoryOf` is not given (an
   *  in-process provider that holds just this model). */
  rssOf?: () => number | undefined;
  /** Caps the prompt so prompt + answer fit the context. */
  contextLength?: number;
}

export interface BenchmarkOptions {
  repetitions?: number;
  promptTokens?: number;
  maxTokens?: number;
  prompt?: string;
  signal: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  now?: () => number;
  /** One untimed 1-token call first, so loading the model is not counted as TTFT. Default true. */
  warmup?: boolean;
}

const FILLER =
  'The quick brown fox jumps over the lazy dog while the river keeps running past old stone bridges and quiet fields. ';

/** About `tokens` tokens of plain text; a per-run tag at the start defeats prompt-prefix caches. */
export function benchPrompt(tokens: number, run: number): string {
  const head = `Run ${run}. `;
  const chars = Math.max(0, tokens * CHARS_PER_TOKEN - head.length);
  return head + FILLER.repeat(Math.ceil(chars / FILLER.length)).slice(0, chars);
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n − 1); undefined for fewer than two samples. */
export function sampleSd(xs: readonly number[]): number | undefined {
  if (xs.length < 2) return undefined;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

interface RunSample {
  ttftMs: number;
  totalMs: number;
  tokensPerSecond: number;
  promptTokensPerSecond?: number;
}

/**
 * Benchmark one model. Failures of the model come back as `ok: false` with the reason; an abort
 * rejects with the signal's reason at once, without waiting for the provider to notice.
 */
export async function benchmarkModel(t: BenchTarget, opts: BenchmarkOptions): Promise<BenchmarkResult> {
  const now = opts.now ?? (() => performance.now());
  const repetitions = Math.max(1, Math.floor(opts.repetitions ?? DEFAULT_REPETITIONS));
  const maxTokens = Math.max(2, Math.floor(opts.maxTokens ?? DEFAULT_MAX_TOKENS));
  let promptTokens = Math.max(1, Math.floor(opts.promptTokens ?? DEFAULT_PROMPT_TOKENS));
  if (t.contextLength !== undefined)
    promptTokens = Math.max(1, Math.min(promptTokens, t.contextLength - maxTokens - CONTEXT_MARGIN_TOKENS));
  const startedAt = new Date().toISOString();
  const total = repetitions;
  const abort = abortPromise(opts.signal);
  let peakRss: number | undefined;
  const sampleRss = () => {
    const v = t.memoryOf ? t.memoryOf() : t.rssOf?.();
    if (v !== undefined && Number.isFinite(v) && v > 0) peakRss = Math.max(peakRss ?? 0, v);
  };
  const rssTimer = t.rssOf && !t.memoryOf ? setInterval(sampleRss, RSS_SAMPLE_MS) : undefined;
  rssTimer?.unref();
  const t0 = now();
  try {
    opts.signal.throwIfAborted();
    opts.onProgress?.(0, total);
    if (opts.warmup !== false) {
      await Promise.race([
        t.provider.generate({ model: t.name, prompt: 'Hello', maxTokens: 1, temperature: 0 }, { signal: opts.signal }),
        abort.promise,
      ]);
    }
    const samples: RunSample[] = [];
    for (let run = 1; run <= repetitions; run++) {
      let sample: RunSample | undefined;
      // The prompt is sized at ~4 characters a token; a byte-level tokenizer needs up to 4× that.
      // On a context overflow, shrink the prompt and run again rather than fail the benchmark.
      for (let shrink = 0; sample === undefined; shrink++) {
        try {
          sample = await Promise.race([runOnce(t, run, promptTokens, maxTokens, opts, now), abort.promise]);
        } catch (e) {
          if (!(
            isProviderError(e) &&
            e.kind === 'context_overflow' &&
            opts.prompt === undefined &&
            shrink < MAX_PROMPT_SHRINKS &&
            promptTokens > 8
          ))
            throw e;
          promptTokens = Math.max(8, Math.floor(promptTokens / 4));
        }
      }
      samples.push(sample);
      sampleRss();
      opts.onProgress?.(run, total);
    }
    sampleRss();
    return summarize(t.id, startedAt, samples, now() - t0, peakRss);
  } catch (e) {
    if (opts.signal.aborted) throw opts.signal.reason;
    return { model: t.id, ok: false, error: describeError(e), at: startedAt, repetitions };
  } finally {
    if (rssTimer) clearInterval(rssTimer);
    abort.dispose();
  }
}

async function runOnce(
  t: BenchTarget,
  run: number,
  promptTokens: number,
  maxTokens: number,
  opts: BenchmarkOptions,
  now: () => number,
): Promise<RunSample> {
  const prompt = opts.prompt !== undefined ? `Run ${run}. ${opts.prompt}` : benchPrompt(promptTokens, run);
  let firstAt: number | undefined;
  let deltas = 0;
  const start = now();
  const result = await t.provider.generate(
    { model: t.name, prompt, maxTokens, temperature: 0 },
    {
      signal: opts.signal,
      onDelta: () => {
        deltas++;
        firstAt ??= now();
      },
    },
  );
  const end = now();
  const totalMs = end - start;
  const ttftMs = (firstAt ?? end) - start;
  // Providers that stream without usage: count deltas (≈ tokens for local models, a floor for cloud).
  const completionTokens = result.usage.completionTokens || deltas;
  if (completionTokens < 2)
    throw new Error(
      `the model produced ${completionTokens} token(s); generation speed needs at least 2 (it stopped at once: check its prompt template or stop tokens)`,
    );
  // The first token's time is in the TTFT; the rest arrive in (total − ttft).
  const genMs = Math.max(totalMs - ttftMs, Number.EPSILON);
  const sample: RunSample = { ttftMs, totalMs, tokensPerSecond: ((completionTokens - 1) * 1000) / genMs };
  if (result.usage.promptTokens > 0 && ttftMs > 0)
    sample.promptTokensPerSecond = (result.usage.promptTokens * 1000) / ttftMs;
  return sample;
}

function summarize(
  model: string,
  at: string,
  samples: RunSample[],
  totalMs: number,
  peakRss: number | undefined,
): BenchmarkResult {
  const ttft = samples.map((s) => s.ttftMs);
  const tps = samples.map((s) => s.tokensPerSecond);
  const pps = samples.map((s) => s.promptTokensPerSecond).filter((v): v is number => v !== undefined);
  const r: BenchmarkResult = {
    model,
    ok: true,
    ttftMs: round(mean(ttft)),
    tokensPerSecond: round(mean(tps)),
    totalMs: round(totalMs),
    at,
    repetitions: samples.length,
  };
  const ttftSd = sampleSd(ttft);
  const tpsSd = sampleSd(tps);
  if (ttftSd !== undefined) r.ttftSdMs = round(ttftSd);
  if (tpsSd !== undefined) r.tokensPerSecondSd = round(tpsSd);
  if (pps.length === samples.length) {
    r.promptTokensPerSecond = round(mean(pps));
    const ppsSd = sampleSd(pps);
    if (ppsSd !== undefined) r.promptTokensPerSecondSd = round(ppsSd);
  }
  if (peakRss !== undefined) r.peakRssBytes = peakRss;
  return r;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

function describeError(e: unknown): string {
  if (isProviderError(e)) return `${e.kind}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

function abortPromise(signal: AbortSignal): { promise: Promise<never>; dispose: () => void } {
  let onAbort: (() => void) | undefined;
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  // Nobody may be racing it when the abort lands (between runs): don't report it as unhandled.
  promise.catch(() => undefined);
  return { promise, dispose: () => onAbort && signal.removeEventListener('abort', onAbort) };
}

/** Benchmark results by model id, persisted under one Store key. */
export class BenchmarkStore {
  static readonly KEY = 'benchmarks';
  private readonly results: Record<string, BenchmarkResult>;

  constructor(private readonly store: Store) {
    this.results = {};
    const saved = store.read<unknown>(BenchmarkStore.KEY);
    if (typeof saved === 'object' && saved !== null) {
      for (const [k, v] of Object.entries(saved)) {
        // A hand-edited or older file: keep what still has the shape, drop the rest.
        if (
          typeof v === 'object' &&
          v !== null &&
          typeof (v as BenchmarkResult).model === 'string' &&
          typeof (v as BenchmarkResult).ok === 'boolean'
        ) {
          this.results[k] = v as BenchmarkResult;
        }
      }
    }
  }

  get(model: string): BenchmarkResult | undefined {
    return this.results[model];
  }

  set(r: BenchmarkResult): void {
    this.results[r.model] = r;
    this.store.write(BenchmarkStore.KEY, this.results);
  }

  all(): Record<string, BenchmarkResult> {
    return { ...this.results };
  }
}
