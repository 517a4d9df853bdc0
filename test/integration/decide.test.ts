// Decide and wait, through the built daemon: priority queue bounds and order, the out-of-memory
// plan whose reduced context really loads, and download_and_retry with an interrupted transfer.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { methods } from '../../protocol/index';
import type { CompleteResult, FallbackPlan, Priority, Suggestion } from '../../protocol/types';
import { estimateResources } from '../../server/system/fit';
import { FIXED_ANSWER, startFaultServer, type FaultServer } from '../fixtures/faultServer';
import { writeGguf } from '../fixtures/genGguf';
import { spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';

const NO_SCAN = { lmStudio: false, huggingFace: false, nodeLlamaCpp: false, llamaCpp: false };
type RpcErr = { code: number; message: string };

describe('priority queue through the daemon', () => {
  let fault: FaultServer;
  before(async () => {
    // ~60 chunks × 15 ms: each answer holds the single slot for about a second
    fault = await startFaultServer({ chunkDelayMs: 15 });
  });
  after(async () => fault.close());

  it('four concurrent requests, maxConcurrency 1, queue.maxSize 1: at least one -32002, the rest answered', async () => {
    const dir = tmpDir();
    const cfg = writeConfig(dir, {
      providers: [{ id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1`, maxConcurrency: 1 }],
      chain: ['fault/ok+q1'],
      queue: { maxSize: 1, maxWaitMs: 60_000 },
    });
    const d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
    try {
      const prios: Priority[] = ['low', 'normal', 'high', 'critical'];
      const done: string[] = [];
      const outcomes = await Promise.allSettled(
        prios.map((priority) =>
          d.conn.sendRequest<CompleteResult>(methods.complete.method, { prompt: 'x', priority }).then((r) => {
            done.push(priority);
            return r;
          }),
        ),
      );
      const rejected = outcomes
        .filter((o) => o.status === 'rejected')
        .map((o) => (o as PromiseRejectedResult).reason as RpcErr);
      assert.ok(rejected.length >= 1, 'at least one request refused');
      for (const e of rejected) assert.equal(e.code, -32002, e.message);
      for (const o of outcomes) if (o.status === 'fulfilled') assert.equal(o.value.text, FIXED_ANSWER);
      assert.equal(rejected.length + done.length, 4);
    } finally {
      await d.kill();
    }
  });

  it('waiting requests are served in priority order (critical, high, normal, low) after the running one', async () => {
    const dir = tmpDir();
    const cfg = writeConfig(dir, {
      providers: [{ id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1`, maxConcurrency: 1 }],
      chain: ['fault/ok+q2'],
      queue: { maxSize: 10, maxWaitMs: 60_000 },
    });
    const d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
    try {
      const order: string[] = [];
      const call = (tag: string, priority: Priority) =>
        d.conn
          .sendRequest<CompleteResult>(methods.complete.method, { prompt: tag, priority })
          .then(() => order.push(tag));
      const first = call('blocker', 'normal');
      // let the blocker take the slot, then queue the rest in the worst order
      for (let i = 0; i < 100 && fault.attemptsFor('ok+q2').length === 0; i++)
        await new Promise((r) => setTimeout(r, 20));
      const rest = [call('low', 'low'), call('normal', 'normal'), call('high', 'high'), call('critical', 'critical')];
      for (let i = 0; i < 100; i++) {
        const q = await d.conn.sendRequest<{
          items: { priority: Priority; position: number; estimatedWaitMs: number }[];
        }>(methods.queue.method);
        if (q.items.length === 4) {
          assert.deepEqual(
            [...q.items].sort((a, b) => a.position - b.position).map((x) => x.priority),
            ['critical', 'high', 'normal', 'low'],
          );
          assert.ok(q.items.every((x) => x.estimatedWaitMs >= 0));
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      await Promise.all([first, ...rest]);
      assert.deepEqual(order, ['blocker', 'critical', 'high', 'normal', 'low']);
      const est = await d.conn.sendRequest<{ totalMs: number; confidence: number }>(methods.estimateWait.method, {
        model: 'fault/ok+q2',
      });
      assert.ok(est.totalMs > 0 && est.confidence > 0, JSON.stringify(est));
    } finally {
      await d.kill();
    }
  });
});

describe('out of memory: a reduced context that really loads', () => {
  it('backstop/plan recommends reduce_requirements whose adjusted context then serves', async () => {
    const dir = tmpDir();
    const models = path.join(dir, 'models');
    fs.mkdirSync(models);
    const file = path.join(models, 'roomy.gguf');
    writeGguf(file, { embd: 64, layers: 2, heads: 4, ff: 128, ctx: 8192, seed: 3 });
    // a budget between what ctx 256 and ctx 8192 need
    const small = await estimateResources(file, { contextSize: 256, gpuLayers: 0 });
    const big = await estimateResources(file, { contextSize: 8192, gpuLayers: 0 });
    assert.ok(big.ramBytes > small.ramBytes);
    const budget = Math.floor((small.ramBytes + big.ramBytes) / 2);
    const cfg = writeConfig(dir, {
      providers: [
        {
          id: 'local',
          type: 'local',
          modelsDirs: [models],
          scan: NO_SCAN,
          contextSize: 8192,
          memoryBudgetBytes: budget,
          threads: 1,
        },
      ],
      chain: ['local/roomy'],
    });
    const d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
    try {
      let plan: FallbackPlan | undefined;
      for (let i = 0; i < 100; i++) {
        plan = await d.conn.sendRequest<FallbackPlan>(methods.plan.method, {
          model: 'local/roomy',
          failure: { kind: 'out_of_memory' },
        });
        if (plan.recommended.type === 'reduce_requirements' && plan.recommended.confidence >= 0.8) break;
        await new Promise((r) => setTimeout(r, 100)); // estimates are computed in the background after the scan
      }
      assert.equal(plan?.recommended.type, 'reduce_requirements', JSON.stringify(plan));
      const ctx = plan!.recommended.adjustments?.contextSize;
      assert.equal(typeof ctx, 'number');
      assert.ok((ctx as number) < 8192);
      const need = await estimateResources(file, { contextSize: ctx as number, gpuLayers: 0 });
      assert.ok(need.ramBytes <= budget, `ctx ${ctx} needs ${need.ramBytes} > budget ${budget}`);
      assert.match(plan!.recommended.message, /ctx/);
      // apply it: the model loads and answers at that context
      await d.conn.sendRequest(methods.setConfig.method, {
        providers: [
          {
            id: 'local',
            type: 'local',
            modelsDirs: [models],
            scan: NO_SCAN,
            contextSize: ctx,
            memoryBudgetBytes: budget,
            threads: 1,
          },
        ],
      });
      const r = await d.conn.sendRequest<CompleteResult>(methods.complete.method, { prompt: 'hello', maxTokens: 8 });
      assert.equal(r.modelUsed, 'local/roomy');
      assert.ok((r.usage?.completionTokens ?? 0) > 0);
    } finally {
      await d.kill();
    }
  });
});

describe('download_and_retry', () => {
  it('a missing model with a recorded source: planned, downloaded with one interruption and a resume, checksum verified, then served', async () => {
    const dir = tmpDir();
    const src = path.join(dir, 'src.gguf');
    writeGguf(src, { embd: 64, layers: 2, heads: 4, ff: 128, ctx: 2048, seed: 11 });
    const bytes = fs.readFileSync(src);
    const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
    const requests: { range?: string }[] = [];
    const server = http.createServer((req, res) => {
      const range = req.headers.range;
      requests.push(range ? { range } : {});
      if (requests.length === 1) {
        // first try: promise the whole file, send half, then drop the connection
        res.writeHead(200, { 'content-length': bytes.length, 'accept-ranges': 'bytes' });
        res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.destroy());
        return;
      }
      const m = /bytes=(\d+)-/.exec(range ?? '');
      const from = m ? Number(m[1]) : 0;
      res.writeHead(m ? 206 : 200, {
        'content-length': bytes.length - from,
        ...(m ? { 'content-range': `bytes ${from}-${bytes.length - 1}/${bytes.length}` } : {}),
      });
      res.end(bytes.subarray(from));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models/dl.gguf`;
    const models = path.join(dir, 'models');
    const cfg = writeConfig(dir, {
      providers: [
        {
          id: 'local',
          type: 'local',
          modelsDirs: [models],
          scan: NO_SCAN,
          threads: 1,
          downloads: { dl: { url, sha256, sizeBytes: bytes.length } },
        },
      ],
      chain: ['local/dl'],
    });
    const d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
    const progress: number[] = [];
    d.conn.onNotification(methods.downloadProgress.method, (p: { receivedBytes: number }) => {
      progress.push(p.receivedBytes);
    });
    try {
      await assert.rejects(d.conn.sendRequest(methods.complete.method, { prompt: 'x', maxTokens: 4 }));
      const plan = await d.conn.sendRequest<FallbackPlan>(methods.plan.method, {
        model: 'local/dl',
        failure: { kind: 'model_missing' },
      });
      const dl = plan.options.find((o) => o.type === 'download_and_retry');
      assert.ok(dl, JSON.stringify(plan));
      assert.equal(dl!.adjustments?.url, url);
      const r = await d.conn.sendRequest<{ sha256: string; resumed: boolean; bytes: number }>(methods.download.method, {
        model: 'local/dl',
      });
      assert.equal(r.sha256, sha256);
      assert.equal(r.bytes, bytes.length);
      assert.equal(r.resumed, true);
      assert.ok(requests.length >= 2 && requests[1]!.range?.startsWith('bytes='), JSON.stringify(requests));
      assert.ok(progress.length >= 1);
      assert.equal(fs.existsSync(path.join(models, 'dl.gguf.part')), false);
      const c = await d.conn.sendRequest<CompleteResult>(methods.complete.method, { prompt: 'x', maxTokens: 4 });
      assert.equal(c.modelUsed, 'local/dl');
    } finally {
      await d.kill();
      server.close();
    }
  });

  it('a checksum mismatch is refused and leaves no model file behind', async () => {
    const dir = tmpDir();
    const server = http.createServer((_req, res) => res.end(Buffer.from('not the model you are looking for')));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x.gguf`;
    const models = path.join(dir, 'models');
    const cfg = writeConfig(dir, {
      providers: [
        {
          id: 'local',
          type: 'local',
          modelsDirs: [models],
          scan: NO_SCAN,
          downloads: { bad: { url, sha256: '0'.repeat(64) } },
        },
      ],
      chain: ['local/bad'],
    });
    const d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
    try {
      await assert.rejects(d.conn.sendRequest(methods.download.method, { model: 'local/bad' }), (e: RpcErr) =>
        /checksum mismatch/.test(e.message),
      );
      assert.equal(fs.existsSync(path.join(models, 'bad.gguf')), false);
    } finally {
      await d.kill();
      server.close();
    }
  });
});

describe('autoSwitch through the daemon', () => {
  it("a local model over its memory budget is retried with the planner's smaller context and answers", async () => {
    const dir = tmpDir();
    const models = path.join(dir, 'models');
    fs.mkdirSync(models);
    const file = path.join(models, 'squeezed.gguf');
    writeGguf(file, { embd: 64, layers: 2, heads: 4, ff: 128, ctx: 8192, seed: 5 });
    const small = await estimateResources(file, { contextSize: 256, gpuLayers: 0 });
    const big = await estimateResources(file, { contextSize: 8192, gpuLayers: 0 });
    const budget = Math.floor((small.ramBytes + big.ramBytes) / 2);
    const cfg = writeConfig(dir, {
      providers: [
        {
          id: 'local',
          type: 'local',
          modelsDirs: [models],
          scan: NO_SCAN,
          contextSize: 8192,
          memoryBudgetBytes: budget,
          threads: 1,
        },
      ],
      chain: ['local/squeezed'],
      autoSwitch: true,
      circuit: { failureThreshold: 5 },
    });
    const d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
    try {
      // the estimates are computed in the background after the scan: wait until the plan is verified
      for (let i = 0; i < 100; i++) {
        const plan = await d.conn.sendRequest<FallbackPlan>(methods.plan.method, {
          model: 'local/squeezed',
          failure: { kind: 'out_of_memory' },
        });
        if (plan.recommended.type === 'reduce_requirements' && plan.recommended.confidence >= 0.8) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const r = await d.conn.sendRequest<CompleteResult>(methods.complete.method, { prompt: 'hello', maxTokens: 8 });
      assert.equal(r.modelUsed, 'local/squeezed');
      assert.equal(r.attempts[0]?.failure, 'out_of_memory', JSON.stringify(r.attempts));
      assert.match(r.attempts[0]?.message ?? '', /needs about .* at ctx 8192/);
      const adj = r.attempts[1]?.adjustments;
      assert.ok(adj && typeof adj.contextSize === 'number' && adj.contextSize < 8192, JSON.stringify(r.attempts));
      assert.ok((r.usage?.completionTokens ?? 0) > 0);
    } finally {
      await d.kill();
    }
  });
});

describe('download_and_retry for an Ollama model', () => {
  it('plans an Ollama pull and runs it: progress streamed, an interrupted pull reported, the next one succeeds', async () => {
    const dir = tmpDir();
    let pulls = 0;
    const server = http.createServer((req, res) => {
      if (req.url === '/api/tags')
        return void res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ models: pulls >= 2 ? [{ name: 'qwen-tiny', size: 1000 }] : [] }));
      if (req.url === '/api/pull' && req.method === 'POST') {
        pulls++;
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.write(JSON.stringify({ status: 'pulling manifest' }) + '\n');
        res.write(JSON.stringify({ status: 'pulling abc', digest: 'sha256:abc', total: 1000, completed: 500 }) + '\n');
        if (pulls === 1) return void res.end(); // cut before "success"
        res.write(JSON.stringify({ status: 'pulling abc', digest: 'sha256:abc', total: 1000, completed: 1000 }) + '\n');
        return void res.end(JSON.stringify({ status: 'success' }) + '\n');
      }
      res.writeHead(404).end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const cfg = writeConfig(dir, {
      providers: [{ id: 'ollama', type: 'ollama', baseUrl: base }],
      chain: ['ollama/qwen-tiny'],
    });
    const d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
    const progress: number[] = [];
    d.conn.onNotification(methods.downloadProgress.method, (p: { receivedBytes: number }) => {
      progress.push(p.receivedBytes);
    });
    try {
      const plan = await d.conn.sendRequest<FallbackPlan>(methods.plan.method, {
        model: 'ollama/qwen-tiny',
        failure: { kind: 'model_missing' },
      });
      const dl = plan.options.find((o) => o.type === 'download_and_retry');
      assert.equal(dl?.adjustments?.source, 'ollama_pull', JSON.stringify(plan));
      await assert.rejects(d.conn.sendRequest(methods.download.method, { model: 'ollama/qwen-tiny' }), (e: RpcErr) =>
        /without "success"/.test(e.message),
      );
      const r = await d.conn.sendRequest<{ bytes: number; sha256: string }>(methods.download.method, {
        model: 'ollama/qwen-tiny',
      });
      assert.equal(r.bytes, 1000);
      assert.equal(r.sha256, 'abc');
      assert.ok(progress.includes(1000), JSON.stringify(progress));
      assert.equal(pulls, 2);
    } finally {
      await d.kill();
      server.close();
    }
  });
});

describe('suggestions and plans weigh live health through the daemon (issue 18)', () => {
  let fault: FaultServer;
  before(async () => {
    fault = await startFaultServer();
  });
  after(async () => fault.close());

  it('models failing right now rank below every healthy one, and say why in words', async () => {
    const dir = tmpDir();
    const bad = ['fault/error-503-always+h1', 'fault/error-503-always+h2'];
    const cfg = writeConfig(dir, {
      providers: [{ id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1` }],
      chain: [...bad, 'fault/ok+h3'],
      maxRetries: 0,
      circuit: { failureThreshold: 10 },
    });
    const d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
    try {
      for (let i = 0; i < 2; i++) {
        const r = await d.conn.sendRequest<CompleteResult>(methods.complete.method, { prompt: 'x', maxTokens: 4 });
        assert.equal(r.modelUsed, 'fault/ok+h3');
      }
      const { suggestions } = await d.conn.sendRequest<{ suggestions: Suggestion[] }>(methods.suggest.method, {
        model: 'fault/ok',
      });
      const rank = (m: string) => suggestions.findIndex((s) => s.model === m);
      const failing = suggestions.filter((s) => bad.includes(s.model));
      assert.equal(failing.length, 2, JSON.stringify(suggestions.map((s) => s.model)));
      const healthy = suggestions.filter((s) => !bad.includes(s.model) && s.available);
      assert.ok(healthy.length > 0);
      for (const f of failing) {
        assert.ok(
          rank(f.model) > Math.max(...healthy.map((h) => rank(h.model))),
          `${f.model} ranked among the healthy`,
        );
        assert.ok(f.score < Math.min(...healthy.map((h) => h.score)));
        assert.ok(f.reasons.includes('0 % success in its last 2 calls'), JSON.stringify(f.reasons));
        assert.ok(
          f.reasons.some((r) => /^had a server error \d+ (ms|s) ago$/.test(r)),
          JSON.stringify(f.reasons),
        );
      }
      const plan = await d.conn.sendRequest<FallbackPlan>(methods.plan.method, {
        model: 'fault/ok',
        failure: { kind: 'server_error' },
      });
      assert.ok(!bad.includes(plan.recommended.model ?? ''), plan.recommended.message);
    } finally {
      await d.kill();
    }
  });
});
