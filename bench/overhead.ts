// Benchmarks, reported as ratios against a baseline measured in the same run (never absolute
// timing goals): what Backstop adds on top of calling a provider directly, and what a failover costs.
// usage: npm run bench   (or: tsx bench/overhead.ts [--requests N])
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { methods } from '../protocol/index';
import type { CompleteResult } from '../protocol/types';
import { createCloudProvider } from '../server/providers/cloud';
import { FAULT_MODELS, startFaultServer } from '../test/fixtures/faultServer';
import { spawnCli, tmpDir, waitForDaemonFile, writeConfig } from '../test/helpers/daemon';

const N = Number(process.argv[process.argv.indexOf('--requests') + 1]) || 30;

function stats(xs: number[]): { median: number; p95: number; mean: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p95: at(0.95), mean: xs.reduce((a, b) => a + b, 0) / xs.length };
}

async function main(): Promise<void> {
  const fault = await startFaultServer({ chunkDelayMs: 1 });
  const base = `${fault.url}/v1`;
  // Baseline: the provider called directly, no engine, no daemon.
  const provider = createCloudProvider(
    { id: 'fault', type: 'openai-compatible', baseUrl: base },
    { getApiKey: () => undefined },
  );
  const direct: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await provider.generate({ model: 'ok', prompt: 'x' }, { signal: new AbortController().signal });
    direct.push(performance.now() - t0);
  }

  const dir = tmpDir('backstop-bench-');
  const cfg = writeConfig(dir, {
    providers: [{ id: 'fault', type: 'openai-compatible', baseUrl: base }],
    chain: ['fault/ok'],
    maxRetries: 1,
    backoff: { baseMs: 10, maxMs: 20, jitter: false },
    circuit: { failureThreshold: 1000, cooldownMs: 1000 },
  });
  const d = spawnCli(['serve', '--http', '0', '--config', cfg, '--state-dir', path.join(dir, 'state')]);
  const info = await waitForDaemonFile(path.join(dir, 'state'), d);
  const rpc = async (chain: string[]) => {
    const res = await fetch(`http://127.0.0.1:${info.httpPort}/rpc`, {
      method: 'POST',
      headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: methods.complete.method, params: { prompt: 'x', chain } }),
    });
    const body = (await res.json()) as { result?: CompleteResult; error?: { message: string } };
    if (!body.result) throw new Error(body.error?.message ?? 'no result');
    return body.result;
  };
  const through: number[] = [];
  const failover: number[] = [];
  try {
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      await rpc(['fault/ok']);
      through.push(performance.now() - t0);
    }
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      const r = await rpc([`fault/${FAULT_MODELS.error503Always}`, 'fault/ok']);
      if (r.modelUsed !== 'fault/ok') throw new Error('failover did not happen');
      failover.push(performance.now() - t0);
    }
  } finally {
    await d.kill();
    await fault.close();
  }
  const a = stats(direct),
    b = stats(through),
    c = stats(failover);
  console.log(`requests per series: ${N} (60-token streamed answers from the loopback fault server)`);
  console.log(`direct provider call     median ${a.median.toFixed(1)} ms  p95 ${a.p95.toFixed(1)} ms   (baseline)`);
  console.log(
    `through the daemon (rpc) median ${b.median.toFixed(1)} ms  p95 ${b.p95.toFixed(1)} ms   ratio ${(b.median / a.median).toFixed(2)}×`,
  );
  console.log(
    `503 primary → fallback   median ${c.median.toFixed(1)} ms  p95 ${c.p95.toFixed(1)} ms   ratio ${(c.median / a.median).toFixed(2)}× (1 retry, 10 ms backoff)`,
  );
}

main().catch((e: unknown) => {
  console.error(`bench failed: ${(e as Error).message}`);
  process.exit(1);
});
