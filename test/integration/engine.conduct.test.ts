// The engine's conduct through the BUILT daemon against the loopback fault server: for a primary
// showing each fault with a healthy fallback behind it (the table of the engine issue).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { methods } from '../../protocol/index';
import type { CompleteResult } from '../../protocol/types';
import {
  CONTENT_FILTER_REASON,
  FAULT_MODELS,
  FIXED_ANSWER,
  startFaultServer,
  type FaultServer,
} from '../fixtures/faultServer';
import { spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';

let fault: FaultServer;
before(async () => {
  fault = await startFaultServer();
});
after(async () => {
  await fault.close();
});

interface RpcErr {
  code: number;
  message: string;
  data?: { kind: string; retryAfterMs?: number; attempts?: unknown[] };
}

/** A daemon whose chain is [fault/<primary>, fault/<fallback>]; tag makes the fault state unique. */
async function withDaemon<T>(
  chain: string[],
  extra: Record<string, unknown>,
  fn: (call: (p?: Record<string, unknown>) => Promise<CompleteResult>) => Promise<T>,
): Promise<T> {
  const dir = tmpDir();
  const cfg = writeConfig(dir, {
    providers: [{ id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1` }],
    chain: chain.map((m) => `fault/${m}`),
    maxRetries: 2,
    backoff: { baseMs: 200, maxMs: 1000, jitter: true },
    firstTokenTimeoutMs: 3000,
    idleTimeoutMs: 2000,
    maxRetryAfterMs: 5000,
    circuit: { failureThreshold: 10, cooldownMs: 3000 },
    ...extra,
  });
  const d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
  try {
    return await fn((p = {}) =>
      d.conn.sendRequest<CompleteResult>(methods.complete.method, {
        prompt: 'say the fixed answer',
        maxTokens: 100,
        ...p,
      }),
    );
  } catch (e) {
    if (process.env.DEBUG_DAEMON) console.error(d.stderr());
    throw e;
  } finally {
    await d.kill();
  }
}

let n = 0;
const tag = (m: string) => `${m}+t${++n}`;

describe('engine conduct against the fault server (through the daemon)', { concurrency: false }, () => {
  it('429 Retry-After 2 once: waits ≥ 1.8 s (or fails over at once), ≤ 2 primary attempts in 1.5 s', async () => {
    const p = tag(FAULT_MODELS.rateLimitOnce2s);
    const r = await withDaemon([p, tag('ok')], {}, (call) => call());
    assert.equal(r.text, FIXED_ANSWER);
    const a = fault.attemptsFor(p);
    const t0 = a[0]!.at;
    assert.ok(a.filter((x) => x.at - t0 < 1500).length <= 2);
    if (a.length >= 2) assert.ok(a[1]!.at - t0 >= 1800, `second attempt after ${a[1]!.at - t0} ms`);
    else assert.notEqual(r.modelUsed, `fault/${p}`);
  });

  it('429 persistent without a header: ≤ 4 primary attempts in 3 s, ≤ 6 in all; the fallback answers', async () => {
    const p = tag(FAULT_MODELS.rateLimitAlways);
    const f = tag('ok');
    const r = await withDaemon([p, f], {}, (call) => call());
    assert.equal(r.modelUsed, `fault/${f}`);
    assert.equal(r.text, FIXED_ANSWER);
    const a = fault.attemptsFor(p);
    assert.ok(a.length <= 6 && a.filter((x) => x.at - a[0]!.at < 3000).length <= 4, `${a.length} attempts`);
    assert.ok(r.fallbackOccurred);
  });

  it('500 once: retried on the same model and answered', async () => {
    const p = tag(FAULT_MODELS.error500Once);
    const r = await withDaemon([p, tag('ok')], {}, (call) => call());
    assert.equal(r.modelUsed, `fault/${p}`);
    assert.equal(fault.attemptsFor(p).length, 2);
    assert.equal(r.text, FIXED_ANSWER);
  });

  it('503 persistent: ≤ 6 primary attempts; the fallback answers with usage', async () => {
    const p = tag(FAULT_MODELS.error503Always);
    const f = tag('ok');
    const r = await withDaemon([p, f], {}, (call) => call());
    assert.ok(fault.attemptsFor(p).length <= 6);
    assert.equal(r.modelUsed, `fault/${f}`);
    assert.ok(r.usage && r.usage.completionTokens === 60, JSON.stringify(r.usage));
  });

  it('connection reset before headers, once: answered', async () => {
    const p = tag(FAULT_MODELS.resetOnce);
    const r = await withDaemon([p, tag('ok')], {}, (call) => call());
    assert.equal(r.text, FIXED_ANSWER);
    assert.ok(r.attempts.some((x) => x.failure === 'network'));
  });

  it('accepts and never answers: ends within firstTokenTimeoutMs + slack, not retried, fallback answers', async () => {
    const p = tag(FAULT_MODELS.silent);
    const f = tag('ok');
    const t0 = Date.now();
    const r = await withDaemon([p, f], {}, (call) => call());
    const ms = r.totalLatencyMs;
    assert.ok(ms < 3000 + 2000, `took ${ms} ms`);
    assert.equal(fault.attemptsFor(p).length, 1);
    assert.equal(r.modelUsed, `fault/${f}`);
    assert.ok(Date.now() - t0 < 15_000);
  });

  it('first token after 20 s with firstTokenTimeoutMs 10 s: the fallback answers by about 10 s', async () => {
    const p = tag(FAULT_MODELS.slowFirstToken20s);
    const f = tag('ok');
    const r = await withDaemon([p, f], { firstTokenTimeoutMs: 10_000 }, (call) => call());
    assert.equal(r.modelUsed, `fault/${f}`);
    assert.ok(r.totalLatencyMs >= 9_500 && r.totalLatencyMs < 13_000, `${r.totalLatencyMs} ms`);
    assert.equal(fault.attemptsFor(p).length, 1);
  });

  it('stream cut after 40 of 60 tokens: the whole answer from the fallback, never the 40 tokens', async () => {
    const p = tag(FAULT_MODELS.cutAfter40);
    const f = tag('ok');
    const r = await withDaemon([p, f], {}, (call) => call());
    assert.equal(r.text, FIXED_ANSWER);
    assert.equal(r.modelUsed, `fault/${f}`);
    assert.ok(r.attempts.some((x) => x.failure === 'stream_interrupted'));
  });

  it('stream stalls mid-answer: detected within idleTimeoutMs, fallback answers, next request served', async () => {
    const p = tag(FAULT_MODELS.stallAfter10);
    const f = tag('ok');
    await withDaemon([p, f], {}, async (call) => {
      const r = await call();
      assert.equal(r.text, FIXED_ANSWER);
      assert.equal(r.modelUsed, `fault/${f}`);
      const stalled = r.attempts.find((x) => x.model === `fault/${p}`)!;
      assert.ok(stalled.latencyMs < 2000 + 1500, `stall detected after ${stalled.latencyMs} ms`);
      const next = await call({ chain: [`fault/${f}`] });
      assert.equal(next.text, FIXED_ANSWER);
    });
  });

  it('malformed SSE chunk mid-stream: a clean failure, never partial text as success', async () => {
    const p = tag(FAULT_MODELS.malformedChunk);
    const r = await withDaemon([p, tag('ok')], {}, (call) => call());
    assert.equal(r.text, FIXED_ANSWER);
  });

  it('finished stream without [DONE]: finalised within 1 s of the last byte, usage reported', async () => {
    const p = tag(FAULT_MODELS.noDoneHang);
    const r = await withDaemon([p, tag('ok')], {}, (call) => call());
    assert.equal(r.modelUsed, `fault/${p}`);
    assert.equal(r.text, FIXED_ANSWER);
    assert.ok(r.totalLatencyMs < 1500, `${r.totalLatencyMs} ms`);
    assert.equal(r.usage?.completionTokens, 60);
  });

  it('400 context_length_exceeded: exactly 1 primary attempt; a model with a larger context answers', async () => {
    const p = tag(FAULT_MODELS.contextLength);
    const big = tag(FAULT_MODELS.okBigContext);
    const r = await withDaemon([p, big], {}, (call) => call());
    assert.equal(fault.attemptsFor(p).length, 1);
    assert.equal(r.modelUsed, `fault/${big}`);
  });

  it('400 content filter: exactly 1 primary attempt; the refusal goes back to the caller, naming model and policy', async () => {
    const p = tag(FAULT_MODELS.contentFilter);
    const f = tag('ok');
    await withDaemon([p, f], {}, async (call) => {
      await assert.rejects(call(), (e: RpcErr) => {
        assert.equal(e.code, -32602);
        assert.equal(e.data?.kind, 'content_filter');
        assert.match(e.message, /content policy/);
        assert.ok(e.message.includes(`fault/${p}`) && e.message.includes(CONTENT_FILTER_REASON), e.message);
        return true;
      });
    });
    assert.equal(fault.attemptsFor(p).length, 1);
    assert.equal(fault.attemptsFor(f).length, 0, 'no other model asked');
  });

  it('400 content filter with contentPolicyFallback: the next model answers; the reason is in the attempts', async () => {
    const p = tag(FAULT_MODELS.contentFilter);
    const r = await withDaemon([p, tag('ok')], { contentPolicyFallback: true }, (call) => call());
    assert.equal(fault.attemptsFor(p).length, 1);
    assert.equal(r.text, FIXED_ANSWER);
    const a = r.attempts.find((x) => x.model === `fault/${p}`)!;
    assert.equal(a.failure, 'content_filter');
    assert.ok(a.message?.includes(CONTENT_FILTER_REASON), a.message);
  });

  it('503 for 12 s then healthy, a request every second: all answered, ≤ 1 probe per cooldown, back on the primary after recovery', async () => {
    const p = tag('down-12s');
    const f = tag('ok');
    const cooldownMs = 3000;
    const results: CompleteResult[] = [];
    await withDaemon(
      [p, f],
      { maxRetries: 0, circuit: { failureThreshold: 2, cooldownMs, maxCooldownMs: cooldownMs } },
      async (call) => {
        const t0 = Date.now();
        while (Date.now() - t0 < 19_000) {
          const started = Date.now();
          results.push(await call());
          if (process.env.DEBUG_DAEMON)
            console.error(
              Date.now() - t0,
              JSON.stringify(
                results.at(-1)!.attempts.map((x) => [x.model.slice(6), x.outcome, x.message?.slice(0, 80)]),
              ),
            );
          await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
        }
      },
    );
    assert.ok(results.every((r) => r.text === FIXED_ANSWER));
    const a = fault.attemptsFor(p);
    const downUntil = a[0]!.at + 12_000;
    // while down: after the circuit opened (2 failures), at most one probe per cooldown window
    const probes = a.slice(2).filter((x) => x.at < downUntil);
    for (let i = 1; i < probes.length; i++)
      assert.ok(
        probes[i]!.at - probes[i - 1]!.at >= cooldownMs - 200,
        `probes ${probes[i - 1]!.at} → ${probes[i]!.at}`,
      );
    // back on the primary within one cooldown (+ a request interval) of recovery
    const backAt = results.findIndex((r, i) => i > 2 && r.modelUsed === `fault/${p}`);
    assert.ok(
      backAt > 0,
      `traffic returned to the primary: ${results.map((r) => r.modelUsed.slice(6, 14)).join(',')} / primary attempts ${a.map((x) => `${x.at - a[0]!.at}:${x.action}`).join(' ')}`,
    );
    assert.equal(results.at(-1)!.modelUsed, `fault/${p}`);
    const firstOkPrimary = a.find((x) => x.at >= downUntil && x.action === 'ok');
    assert.ok(
      firstOkPrimary && firstOkPrimary.at - downUntil <= cooldownMs + 1500,
      'probe within one cooldown of recovery',
    );
  });

  it('every model failing: -32001 within 50 ms once circuits are open, with retryAfterMs and no provider call', async () => {
    const a = tag(FAULT_MODELS.error503Always);
    const b = tag(FAULT_MODELS.error503Always);
    await withDaemon([a, b], { maxRetries: 0, circuit: { failureThreshold: 1, cooldownMs: 60_000 } }, async (call) => {
      await assert.rejects(call(), (e: RpcErr) => e.code === -32001);
      const before = fault.attempts.length;
      const t0 = Date.now();
      await assert.rejects(call(), (e: RpcErr) => {
        assert.equal(e.code, -32001);
        assert.ok((e.data?.retryAfterMs ?? 0) > 50_000, `retryAfterMs ${e.data?.retryAfterMs}`);
        return true;
      });
      assert.ok(
        Date.now() - t0 < 50 + 200,
        `answered in ${Date.now() - t0} ms (stdio round trip and scheduling on a busy 2-core box included)`,
      );
      assert.equal(fault.attempts.length, before, 'no provider call');
    });
  });

  it('mockGeneration on: an exhausted chain gets a clearly labelled mock answer, never a real model id', async () => {
    const a = tag(FAULT_MODELS.error503Always);
    const r = await withDaemon([a], { maxRetries: 0, mockGeneration: true }, (call) => call());
    assert.equal(r.mock, true);
    assert.equal(r.modelUsed, 'backstop/mock');
    assert.match(r.text, /mock answer/);
    assert.ok(r.attempts.some((x) => x.model === `fault/${a}` && x.outcome === 'error'));
  });

  it('strategy fastest: both start, the first complete answer wins, the slow one is aborted (not left running)', async () => {
    const slow = tag(FAULT_MODELS.slowFirstToken20s);
    const quick = tag('ok');
    const t0 = Date.now();
    const r = await withDaemon(
      [slow, quick],
      { strategy: 'fastest', firstTokenTimeoutMs: 30_000, timeoutMs: 60_000 },
      (call) => call(),
    );
    assert.equal(r.modelUsed, `fault/${quick}`);
    assert.equal(r.fallbackOccurred, false, 'a slower loser is not a fallback');
    const loser = r.attempts.find((a) => a.model === `fault/${slow}`);
    assert.equal(loser?.outcome, 'cancelled', JSON.stringify(r.attempts));
    assert.equal(fault.attemptsFor(slow).length, 1);
    assert.ok(Date.now() - t0 < 15_000, 'did not wait for the slow model');
  });

  it('hedging: the next model starts when the first has no first token after delayMs; the winner answers', async () => {
    const slow = tag(FAULT_MODELS.slowFirstToken20s);
    const quick = tag('ok');
    const r = await withDaemon(
      [slow, quick],
      { hedging: { enabled: true, delayMs: 500 }, firstTokenTimeoutMs: 30_000, timeoutMs: 60_000 },
      (call) => call(),
    );
    assert.equal(r.modelUsed, `fault/${quick}`);
    const q = r.attempts.find((a) => a.model === `fault/${quick}`);
    assert.ok((q?.startedAtMs ?? 0) >= 450, `hedge started at ${q?.startedAtMs} ms`);
    assert.ok(r.totalLatencyMs < 5_000, `${r.totalLatencyMs} ms`);
  });
});
