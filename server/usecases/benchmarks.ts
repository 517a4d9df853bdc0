// The benchmark use case: measure models one after the other, keep the results, and feed the wait
// estimator's priors with what was measured.
import type { BenchmarkResult } from '../../protocol/types';
import { benchmarkModel } from '../benchmark/benchmark';
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
  constructor(private readonly s: Services) {}

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
          ...(provider.memoryBytes ? { rssOf: () => provider.memoryBytes?.() } : {}),
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
