// Models, system, health, benchmarks, monitoring, stats, queue and decisions.
import fs from 'node:fs';
import { methods } from '../../protocol/index';
import { ErrorCodes } from '../../protocol/errors';
import type { BenchmarkResult, MonitorSample } from '../../protocol/types';
import { benchmarkModel } from '../benchmark/benchmark';
import { SuggestionCache, scoreCandidates } from '../core/scoring';
import { parseParams, schemas } from '../params';
import { LocalProvider } from '../providers/local';
import type { HandlerTable } from '../rpc';
import { RpcError } from '../rpcError';
import type { Services } from '../services';
import { runComplete } from './complete';

const MONITOR_DEFAULT_INTERVAL_MS = 1000;

export function registerKnowledge(t: HandlerTable, s: Services): void {
  const suggestions = new SuggestionCache();
  s.onModelsChanged(() => suggestions.invalidate());

  t.on(methods.complete, (p, ctx) => runComplete(s, p, ctx));
  t.on(methods.stats, () => s.statsSnapshot());
  t.on(methods.health, () => s.healthReport());
  t.on(methods.system, () => s.systemSnapshot());
  t.on(methods.queue, () => ({ items: s.queue.items() }));
  t.on(methods.queueCancel, (p) => ({ cancelled: s.queue.cancel(parseParams(schemas.queueCancel, p).id) }));

  t.on(methods.models, async (p) => {
    const v = parseParams(schemas.models, p);
    if (v?.refresh) await Promise.all([s.catalog.rescan(), s.catalog.cloud.refresh(true)]);
    return { models: s.models() };
  });

  t.on(methods.discover, async () => {
    const t0 = Date.now();
    const before = new Set(s.models().map((m) => m.id));
    await Promise.all([s.catalog.rescan(), s.catalog.cloud.refresh(true)]);
    const models = s.models();
    const after = new Set(models.map((m) => m.id));
    return { models, added: [...after].filter((i) => !before.has(i)), removed: [...before].filter((i) => !after.has(i)), durationMs: Date.now() - t0 };
  });

  t.on(methods.suggest, (p) => {
    const v = parseParams(schemas.suggest, p);
    const models = s.models();
    const requested = models.find((m) => m.id === v.model) ?? { id: v.model };
    const list = suggestions.get(v.model, v.requirements, () =>
      scoreCandidates(requested, models.filter((m) => m.id !== v.model), v.requirements ?? {}, { waitMs: (m) => s.queue.estimateNew(m)?.totalMs }),
    );
    return { suggestions: list };
  });

  t.on(methods.plan, (p) => {
    const v = parseParams(schemas.plan, p);
    return s.planFor({ model: v.model, failure: v.failure.kind, ...(v.failure.message ? { message: v.failure.message } : {}), ...(v.failure.retryAfterMs !== undefined ? { retryAfterMs: v.failure.retryAfterMs } : {}), ...(v.requirements ? { requirements: v.requirements } : {}) }, false);
  });

  t.on(methods.estimateWait, (p) => {
    const v = parseParams(schemas.estimateWait, p);
    const est = s.queue.estimateNew(v.model, v.priority ?? 'normal');
    if (!est) throw new RpcError(ErrorCodes.UnknownModel, `no estimate for "${v.model}": it is not a known model`);
    return est;
  });

  t.on(methods.benchmark, async (p, ctx) => {
    const v = parseParams(schemas.benchmark, p) ?? {};
    const ids = v.models?.length ? v.models : s.models().filter((m) => m.availability === 'ready' || m.availability === 'cooling_down').map((m) => m.id);
    const results: BenchmarkResult[] = [];
    for (const [i, id] of ids.entries()) {
      ctx.signal.throwIfAborted();
      const r = s.registry.resolve(id);
      if (!r) throw s.state.unknownModel(id);
      const provider = r.provider;
      const res = await benchmarkModel(
        {
          id, provider, name: r.name, kind: r.kind,
          ...(r.contextLength !== undefined ? { contextLength: r.contextLength } : {}),
          ...(provider instanceof LocalProvider ? { rssOf: () => rssOfPid(provider.workerPid()) } : {}),
        },
        {
          signal: ctx.signal,
          ...(v.repetitions !== undefined ? { repetitions: v.repetitions } : {}),
          ...(v.maxTokens !== undefined ? { maxTokens: v.maxTokens } : {}),
          ...(v.promptTokens !== undefined ? { promptTokens: v.promptTokens } : {}),
          ...(v.prompt !== undefined ? { prompt: v.prompt } : {}),
          onProgress: (done, total) => ctx.peer.notify(methods.benchmarkProgress, { model: id, done: i * total + done, total: ids.length * total }),
        },
      );
      s.benchmarks.set(res);
      if (res.ok && res.tokensPerSecond) s.waits.setPrior(id, { tokensPerSecond: res.tokensPerSecond, ...(res.ttftMs !== undefined ? { ttftMs: res.ttftMs } : {}) });
      results.push(res);
    }
    s.catalog.emitIfChanged(true);
    return { results };
  });

  let monitor: { samples: MonitorSample[]; timer: ReturnType<typeof setInterval>; end: number } | undefined;
  const stopMonitor = () => {
    if (monitor) clearInterval(monitor.timer);
    const samples = monitor?.samples ?? [];
    monitor = undefined;
    return samples;
  };
  t.on(methods.monitor, (p) => {
    const v = parseParams(schemas.monitor, p);
    if (v.action === 'stop') return { samples: stopMonitor(), running: false };
    stopMonitor();
    const end = Date.now() + v.durationS * 1000;
    const samples: MonitorSample[] = [];
    const take = () => {
      const sys = s.systemSnapshot();
      const vram = sys.gpus.reduce((a, g) => a + (g.vramFreeBytes ?? 0), 0);
      samples.push({ at: new Date().toISOString(), healthScore: s.healthReport().score, cpuLoadPercent: sys.cpu.loadPercent, memAvailableBytes: sys.memory.availableBytes, ...(sys.gpus.length ? { vramFreeBytes: vram } : {}) });
      if (Date.now() >= end) stopMonitorKeep();
    };
    const stopMonitorKeep = () => { if (monitor) clearInterval(monitor.timer); };
    take();
    monitor = { samples, end, timer: setInterval(take, v.intervalMs ?? MONITOR_DEFAULT_INTERVAL_MS) };
    monitor.timer.unref();
    return { samples, running: true };
  });
}

/** Resident memory of a process (Linux /proc); undefined elsewhere. */
export function rssOfPid(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
