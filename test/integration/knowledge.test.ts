// Knowing the machine and the models, through the BUILT daemon: discovery metadata, the folder
// watcher, benchmarks (progress, spread, cancel), the system snapshot against /proc/meminfo, the
// health report and monitoring sessions.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { methods } from '../../protocol/index';
import type { BenchmarkProgress, MonitorResult } from '../../protocol/types';
import type { BenchmarkResult, HealthReport, ModelInfo, SystemSnapshot } from '../../protocol/types';
import { ensureFixtureModel, FIXTURE_MODELS, writeBrokenGguf } from '../fixtures/genGguf';
import { spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';

const NO_SCAN = { lmStudio: false, huggingFace: false, nodeLlamaCpp: false, llamaCpp: false };
const APPEAR_BUDGET_MS = 2000;
const MEMINFO_TOLERANCE = 0.02;
const MONITOR_INTERVAL_MS = 200;
const FOLLOW_UP_BUDGET_MS = 1500;

let d: ReturnType<typeof spawnStdio>;
let modelsDir: string;
let tinySource: string;
const notes: { method: string; params: unknown; at: number }[] = [];

before(async () => {
  const dir = tmpDir('backstop-knowledge-');
  modelsDir = path.join(dir, 'models');
  fs.mkdirSync(modelsDir);
  tinySource = await ensureFixtureModel('tiny');
  fs.copyFileSync(tinySource, path.join(modelsDir, 'tiny.gguf'));
  fs.copyFileSync(await ensureFixtureModel('fourLayer'), path.join(modelsDir, 'fourLayer.gguf'));
  writeBrokenGguf(path.join(modelsDir, 'broken.gguf'));
  const cfg = writeConfig(dir, {
    providers: [{ id: 'local', type: 'local', modelsDirs: [modelsDir], scan: NO_SCAN, threads: 1 }],
    chain: ['local/tiny'],
  });
  d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
  for (const m of [methods.modelsChanged, methods.benchmarkProgress]) {
    d.conn.onNotification(m.method, (params: unknown): void => {
      notes.push({ method: m.method, params, at: performance.now() });
    });
  }
  await listModels(true);
});

after(async () => {
  if (process.env.DEBUG_DAEMON) console.error(d.stderr());
  await d.kill();
});

async function listModels(refresh = false): Promise<ModelInfo[]> {
  return (await d.conn.sendRequest<{ models: ModelInfo[] }>(methods.models.method, refresh ? { refresh: true } : {}))
    .models;
}

function byId(models: ModelInfo[], id: string): ModelInfo {
  const m = models.find((x) => x.id === id);
  assert.ok(m, `${id} is listed: ${models.map((x) => x.id).join(', ')}`);
  return m;
}

describe('knowledge through the daemon', { concurrency: false }, () => {
  it('lists each local model with context length, size, quantization and parameters; broken is incompatible', async () => {
    const models = await listModels();
    for (const [name, spec] of [
      ['tiny', FIXTURE_MODELS.tiny],
      ['fourLayer', FIXTURE_MODELS.fourLayer],
    ] as const) {
      const m = byId(models, `local/${name}`);
      assert.equal(m.kind, 'local');
      assert.equal(m.availability, 'ready');
      assert.equal(m.contextLength, spec.ctx);
      assert.equal(m.sizeBytes, fs.statSync(path.join(modelsDir, `${name}.gguf`)).size);
      assert.equal(m.quantization, 'F32');
      assert.ok(m.parameters && /\d/.test(m.parameters), `parameters "${m.parameters}"`);
      assert.equal(m.architecture, 'llama');
    }
    // More layers and width: the 4-layer model has more parameters than tiny.
    const p = (id: string) => byId(models, id).parameters ?? '';
    assert.notEqual(p('local/tiny'), p('local/fourLayer'));
    const broken = byId(models, 'local/broken');
    assert.equal(broken.availability, 'incompatible');
    assert.ok((broken.reason ?? '').length > 10, `reason "${broken.reason}"`);
    assert.equal(broken.sizeBytes, 4096);
  });

  it(`a model copied into the folder appears within ${APPEAR_BUDGET_MS} ms with backstop/modelsChanged`, async () => {
    const from = notes.length;
    const t0 = performance.now();
    fs.copyFileSync(tinySource, path.join(modelsDir, 'copied.gguf'));
    let seenAt: number | undefined;
    while (performance.now() - t0 < APPEAR_BUDGET_MS + 1000 && seenAt === undefined) {
      await new Promise((r) => setTimeout(r, 20));
      seenAt = notes
        .slice(from)
        .find(
          (n) =>
            n.method === methods.modelsChanged.method &&
            (n.params as { models: ModelInfo[] }).models.some(
              (m) => m.id === 'local/copied' && m.availability === 'ready',
            ),
        )?.at;
    }
    assert.ok(seenAt !== undefined, 'modelsChanged listing local/copied');
    const ms = seenAt - t0;
    console.log(`# model appeared ${ms.toFixed(0)} ms after the copy`);
    assert.ok(ms <= APPEAR_BUDGET_MS, `appeared after ${ms.toFixed(0)} ms`);
    assert.equal(byId(await listModels(), 'local/copied').sizeBytes, fs.statSync(tinySource).size);
  });

  it('benchmarks the 4-layer model: tokens/s, TTFT, spread, progress notifications', async () => {
    const from = notes.length;
    const { results } = await d.conn.sendRequest<{ results: BenchmarkResult[] }>(methods.benchmark.method, {
      models: ['local/fourLayer'],
      repetitions: 3,
      maxTokens: 24,
      promptTokens: 64,
    });
    const r = results[0];
    assert.ok(r?.ok, JSON.stringify(r));
    assert.equal(r.model, 'local/fourLayer');
    assert.ok((r.tokensPerSecond ?? 0) > 0, `tokensPerSecond ${r.tokensPerSecond}`);
    assert.ok((r.ttftMs ?? 0) > 0, `ttftMs ${r.ttftMs}`);
    assert.equal(r.repetitions, 3);
    assert.ok(r.tokensPerSecondSd !== undefined && r.tokensPerSecondSd >= 0, 'tokens/s spread');
    assert.ok(r.ttftSdMs !== undefined && r.ttftSdMs >= 0, 'TTFT spread');
    assert.ok((r.peakRssBytes ?? 0) > 0, 'peak RSS of the worker');
    const progress = notes
      .slice(from)
      .filter((n) => n.method === methods.benchmarkProgress.method)
      .map((n) => n.params as BenchmarkProgress);
    assert.ok(progress.length >= 3, `${progress.length} progress notifications`);
    assert.ok(progress.every((p) => p.model === 'local/fourLayer' && p.done <= p.total));
    assert.equal(progress[progress.length - 1]?.done, progress[progress.length - 1]?.total);
    // Attached to the model.
    assert.equal(byId(await listModels(), 'local/fourLayer').benchmark?.at, r.at);
  });

  it('a benchmark is cancellable', async () => {
    const from = notes.length;
    const cts = new CancellationTokenSource();
    const sub = setInterval(() => {
      if (
        notes
          .slice(from)
          .some((n) => n.method === methods.benchmarkProgress.method && (n.params as BenchmarkProgress).done >= 1)
      )
        cts.cancel();
    }, 5);
    const t0 = performance.now();
    let cancelledAt = 0;
    const tokenWatch = cts.token.onCancellationRequested(() => (cancelledAt = performance.now()));
    try {
      const err = await d.conn
        .sendRequest(
          methods.benchmark.method,
          { models: ['local/fourLayer'], repetitions: 20, maxTokens: 600, promptTokens: 64 },
          cts.token,
        )
        .then(
          () => undefined,
          (e: { code: number }) => e,
        );
      const settled = performance.now();
      assert.ok(err, 'the benchmark was cancelled, not finished');
      assert.equal(err.code, -32800);
      assert.ok(cancelledAt > 0);
      console.log(
        `# benchmark cancelled ${(settled - cancelledAt).toFixed(0)} ms after the cancel (${(settled - t0).toFixed(0)} ms in all)`,
      );
      assert.ok(settled - cancelledAt < 1000);
      // The worker stopped too: a run left going (600 tokens, seconds) would hold the model.
      const t1 = performance.now();
      const r = await d.conn.sendRequest<{ modelUsed: string }>(methods.complete.method, {
        chain: ['local/fourLayer'],
        prompt: 'Hi',
        maxTokens: 4,
      });
      assert.equal(r.modelUsed, 'local/fourLayer');
      assert.ok(
        performance.now() - t1 < FOLLOW_UP_BUDGET_MS,
        `the next request waited ${(performance.now() - t1).toFixed(0)} ms`,
      );
    } finally {
      clearInterval(sub);
      tokenWatch.dispose();
    }
  });

  it('backstop/system memory total is within 2 % of /proc/meminfo', async () => {
    const s = await d.conn.sendRequest<SystemSnapshot>(methods.system.method);
    const kb = Number(/MemTotal:\s+(\d+) kB/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))?.[1]);
    const total = kb * 1024;
    assert.ok(Math.abs(s.memory.totalBytes - total) / total <= MEMINFO_TOLERANCE, `${s.memory.totalBytes} vs ${total}`);
    assert.ok(s.memory.availableBytes > 0 && s.memory.availableBytes <= s.memory.totalBytes);
    assert.ok(Array.isArray(s.gpus));
    assert.ok(s.cpu.cores >= 1);
  });

  it('backstop/health scores factors in 0..100 and recommends when the primary is unavailable', async () => {
    await d.conn.sendRequest(methods.setChain.method, { chain: ['local/missing-model', 'local/tiny'] });
    const h = await d.conn.sendRequest<HealthReport>(methods.health.method);
    assert.ok(h.factors.length > 0);
    for (const f of h.factors) assert.ok(f.score >= 0 && f.score <= 100, `${f.name}: ${f.score}`);
    assert.ok(h.score >= 0 && h.score <= 100);
    assert.ok(h.recommendations.length >= 1, 'at least one recommendation');
    assert.ok(
      h.recommendations.some((r) => r.includes('missing-model')),
      h.recommendations.join(' | '),
    );
    await d.conn.sendRequest(methods.setChain.method, { chain: ['local/tiny'] });
    const healthy = await d.conn.sendRequest<HealthReport>(methods.health.method);
    assert.ok(healthy.score > h.score, `a reachable primary scores higher: ${healthy.score} vs ${h.score}`);
  });

  it('a monitoring session samples every intervalMs until stopped', async () => {
    const start = await d.conn.sendRequest<MonitorResult>(methods.monitor.method, {
      action: 'start',
      durationS: 10,
      intervalMs: MONITOR_INTERVAL_MS,
    });
    assert.equal(start.running, true);
    await new Promise((r) => setTimeout(r, 1000));
    const stop = await d.conn.sendRequest<MonitorResult>(methods.monitor.method, { action: 'stop' });
    assert.ok(stop.samples.length >= 3, `${stop.samples.length} samples`);
    assert.ok(stop.samples.length <= 1000 / MONITOR_INTERVAL_MS + 2, `${stop.samples.length} samples in 1 s`);
    for (const s of stop.samples) {
      assert.ok(s.healthScore >= 0 && s.healthScore <= 100);
      assert.ok(s.memAvailableBytes > 0);
      assert.ok(Number.isFinite(Date.parse(s.at)));
    }
    const after = await d.conn.sendRequest<MonitorResult>(methods.monitor.method, { action: 'stop' });
    assert.equal(after.samples.length, 0, 'stopped: nothing more');
  });
});
