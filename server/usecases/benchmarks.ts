// The benchmark use case: measure models one after the other, keep the results, and feed the wait
// estimator's priors with what was measured — at once after a run, and from the stored results (with
// the model's call history and size when there is no benchmark) from the daemon's start, so that the
// first requests after a restart are not estimated from a blind default.
import { splitModelId } from '../../protocol/modelId';
import type { BenchmarkResult } from '../../protocol/types';
import { benchmarkModel } from '../benchmark/benchmark';
import type { PriorFacts } from '../core/waitEstimate';
import type { Services } from '../app/services';

export interface BenchmarkRequest {
  models?: string[] | undefined;
  maxTokens?: number | undefined;
  prompt?: string | undefined;
  repetitions?: number | undefined;
  promptTokens?: number | undefined;
}

export interface BenchmarkRun {
  signal: AbortSignal;
  /** Steps done out of total, across every model of the run. */
  onProgress?: (model: string, done: number, total: number) => void;
}

export class BenchmarkService {
  constructor(private readonly s: Services) {
    s.waits.setPriorSource((id) => this.priorFacts(id));
  }

  /** What is known about a model before it has served a request in this daemon (wait estimates). */
  priorFacts(id: string): PriorFacts | undefined {
    const s = this.s;
    const r = s.registry.resolve(id);
    if (!r) return undefined;
    const facts: PriorFacts = { kind: r.kind };
    const b = s.benchmarks.get(id);
    if (b?.ok && b.tokensPerSecond !== undefined && b.tokensPerSecond > 0) {
      facts.tokensPerSecond = b.tokensPerSecond;
      if (b.ttftMs !== undefined) facts.ttftMs = b.ttftMs;
    }
    const latency = s.health.latencyEwma(id);
    if (latency !== undefined && latency > 0) facts.latencyMs = latency;
    if (r.kind === 'local') {
      const size = s.catalog.localEntry(splitModelId(id).provider, r.name)?.sizeBytes;
      if (size !== undefined) facts.sizeBytes = size;
    }
    return facts;
  }

  /** Default: every model that can answer now. */
  private defaultModels(): string[] {
    return this.s
      .models()
      .filter((m) => m.availability === 'ready' || m.availability === 'cooling_down')
      .map((m) => m.id);
  }

  async run(req: BenchmarkRequest, run: BenchmarkRun): Promise<BenchmarkResult[]> {
    const s = this.s;
    const ids = req.models?.length ? req.models : this.defaultModels();
    const results: BenchmarkResult[] = [];
    for (const [i, id] of ids.entries()) {
      run.signal.throwIfAborted();
      const r = s.registry.resolve(id);
      if (!r) throw s.state.unknownModel(id);
      const provider = r.provider;
      const res = await benchmarkModel(
        {
          id,
          provider,
          name: r.name,
          kind: r.kind,
          ...(r.contextLength !== undefined ? { contextLength: r.contextLength } : {}),
          ...memoryOf(provider, r.name),
        },
        {
          signal: run.signal,
          ...(req.repetitions !== undefined ? { repetitions: req.repetitions } : {}),
          ...(req.maxTokens !== undefined ? { maxTokens: req.maxTokens } : {}),
          ...(req.promptTokens !== undefined ? { promptTokens: req.promptTokens } : {}),
          ...(req.prompt !== undefined ? { prompt: req.prompt } : {}),
          onProgress: (done, total) => run.onProgress?.(id, i * total + done, ids.length * total),
        },
      );
      s.benchmarks.set(res);
      if (res.ok && res.tokensPerSecond) {
        s.waits.setPrior(id, {
          tokensPerSecond: res.tokensPerSecond,
          ...(res.ttftMs !== undefined ? { ttftMs: res.ttftMs } : {}),
        });
      }
      results.push(res);
    }
    s.catalog.emitIfChanged(true);
    return results;
  }
}

/** The model's own memory, from a provider that reports it per model (the local worker): never the
 *  worker process's RSS, which holds every model loaded so far and reports the largest. */
function memoryOf(provider: object, name: string): { memoryOf: () => number | undefined } | Record<string, never> {
  const p = provider as { modelMemoryBytes?: (model: string) => number | undefined };
  return typeof p.modelMemoryBytes === 'function' ? { memoryOf: () => p.modelMemoryBytes?.(name) } : {};
}
