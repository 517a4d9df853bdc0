// The conduct table, on a fake clock: a primary that shows each fault, a healthy fallback
// behind it, and the exact conduct required (attempt counts, gaps, who answers).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCodes } from '../../protocol/errors';
import type { CompleteResult } from '../../protocol/types';
import { EngineError } from '../../server/core/engine';
import { cutAfter, fail, hang, ok, setupEngine, stallAfter, words } from '../helpers/fakeProvider';

const ANSWER = 'the fallback answers in full';

function answered(o: { ok: true; r: CompleteResult } | { ok: false; e: unknown }): CompleteResult {
  if (!o.ok) throw o.e;
  return o.r;
}

describe('conduct: primary fault, healthy fallback', () => {
  for (const random of [0, 0.5, 0.999]) {
    it(`429 Retry-After 2 s once: second try ≥ 1.8 s later, ≤ 2 tries in 1.5 s (random ${random})`, async () => {
      const h = setupEngine({ random: () => random });
      h.provider.script('primary', fail('rate_limited', { status: 429, retryAfterMs: 2000 }), ok('primary ok'));
      h.provider.script('fallback', ok(ANSWER));
      const r = answered(await h.run(['primary', 'fallback']));
      const calls = h.provider.callsTo('primary');
      const t0 = calls[0]?.at ?? 0;
      assert.ok(calls.filter((c) => c.at - t0 < 1500).length <= 2);
      if (r.modelUsed === 'fake/primary') assert.ok((calls[1]?.at ?? 0) - t0 >= 1800, 'waited for Retry-After');
      else assert.equal(calls.length, 1, 'failed over at once');
      assert.equal(r.modelUsed, 'fake/primary');
    });

    it(`429 persistent, no header: ≤ 4 tries in 3 s, ≤ 6 in all, fallback answers (random ${random})`, async () => {
      const h = setupEngine({ random: () => random });
      h.provider.script('primary', fail('rate_limited', { status: 429 }));
      h.provider.script('fallback', ok(ANSWER));
      const first = answered(await h.run(['primary', 'fallback']));
      const second = answered(await h.run(['primary', 'fallback']));
      const calls = h.provider.callsTo('primary');
      const t0 = calls[0]?.at ?? 0;
      assert.ok(calls.filter((c) => c.at - t0 <= 3000).length <= 4, `${calls.length} tries`);
      assert.ok(calls.length <= 6);
      assert.equal(first.modelUsed, 'fake/fallback');
      assert.equal(first.text, ANSWER);
      // The model is still cooling down: the next request does not hammer it.
      assert.equal(second.modelUsed, 'fake/fallback');
      assert.equal(second.attempts[0]?.outcome, 'skipped');
    });
  }

  it('500 once: retried on the same model and answered', async () => {
    const h = setupEngine();
    h.provider.script('primary', fail('server_error', { status: 500 }), ok('primary ok'));
    h.provider.script('fallback', ok(ANSWER));
    const r = answered(await h.run(['primary', 'fallback']));
    assert.equal(r.modelUsed, 'fake/primary');
    assert.deepEqual(
      r.attempts.map((a) => [a.model, a.outcome, a.retry]),
      [
        ['fake/primary', 'error', 0],
        ['fake/primary', 'success', 1],
      ],
    );
    assert.equal(r.fallbackOccurred, false);
    assert.equal(h.provider.callsTo('fallback').length, 0);
  });

  it('503 persistent: ≤ 6 primary attempts, the fallback answers with usage and a fallback event', async () => {
    const h = setupEngine();
    h.provider.script('primary', fail('server_error', { status: 503 }));
    h.provider.script('fallback', { ...ok(ANSWER), usage: { promptTokens: 7, completionTokens: 5 } });
    const r = answered(await h.run(['primary', 'fallback']));
    const n = h.provider.callsTo('primary').length;
    assert.ok(n >= 2 && n <= 6, `${n} primary attempts`);
    assert.equal(r.modelUsed, 'fake/fallback');
    assert.equal(r.fallbackOccurred, true);
    assert.deepEqual(r.usage, { promptTokens: 7, completionTokens: 5 });
    assert.equal(r.attempts.find((a) => a.model === 'fake/primary')?.status, 503);
    const fb = h.events.filter((e) => e.type === 'fallback');
    assert.deepEqual(
      fb.map((e) => e.type === 'fallback' && [e.from, e.to, e.failure]),
      [['fake/primary', 'fake/fallback', 'server_error']],
    );
  });

  it('connection reset before headers, once: answered', async () => {
    const h = setupEngine();
    h.provider.script('primary', fail('network', { message: 'ECONNRESET' }), ok('primary ok'));
    h.provider.script('fallback', ok(ANSWER));
    const r = answered(await h.run(['primary', 'fallback']));
    assert.equal(r.text, 'primary ok');
    assert.equal(r.attempts[0]?.message, 'ECONNRESET');
  });

  it('accepts and never answers: ends within firstTokenTimeoutMs, the silent primary is not retried', async () => {
    const h = setupEngine({ config: { firstTokenTimeoutMs: 10_000 } });
    h.provider.script('primary', hang({ ignoreAbort: true }));
    h.provider.script('fallback', ok(ANSWER));
    const t0 = h.clock.now();
    const r = answered(await h.run(['primary', 'fallback']));
    assert.equal(r.modelUsed, 'fake/fallback');
    assert.equal(h.provider.callsTo('primary').length, 1);
    assert.equal(r.attempts[0]?.outcome, 'timeout');
    assert.match(r.attempts[0]?.message ?? '', /first token within 10 s/);
    assert.ok(r.totalLatencyMs <= 10_000 + 200, `${r.totalLatencyMs} ms`);
    assert.equal(h.provider.callsTo('fallback')[0]?.at, t0 + 10_000);
  });

  it('first token after 20 s with firstTokenTimeoutMs 10 s: the fallback answers by about 10 s, primary aborted', async () => {
    const h = setupEngine({ config: { firstTokenTimeoutMs: 10_000 } });
    h.provider.script('primary', ok('too late', { ttftMs: 20_000 }));
    h.provider.script('fallback', ok(ANSWER));
    const r = answered(await h.run(['primary', 'fallback']));
    assert.equal(r.modelUsed, 'fake/fallback');
    assert.ok(r.totalLatencyMs <= 10_100, `${r.totalLatencyMs} ms`);
    const p = h.provider.callsTo('primary')[0];
    assert.equal((p?.abortedAt ?? 0) - (p?.at ?? 0), 10_000);
  });

  it('stream cut after 40 of 60 tokens: the whole answer from the fallback, never the 40 tokens', async () => {
    const sixty = Array.from({ length: 60 }, (_, i) => `t${i}`).join(' ');
    const h = setupEngine();
    h.provider.script('primary', cutAfter(40, sixty));
    h.provider.script('fallback', ok(ANSWER));
    const streamed: string[] = [];
    const resets: string[] = [];
    const r = answered(
      await h.run(
        ['primary', 'fallback'],
        {},
        {
          onDelta: (d) => streamed.push(d),
          onReset: (m) => {
            resets.push(m);
            streamed.length = 0;
          },
        },
      ),
    );
    assert.equal(r.text, ANSWER);
    assert.equal(r.modelUsed, 'fake/fallback');
    assert.deepEqual(resets, ['fake/fallback'], 'the caller is told to discard the 40 tokens');
    assert.equal(streamed.join(''), ANSWER);
  });

  it('malformed chunk mid-stream (classified stream_interrupted): a clean failure, never partial text', async () => {
    const h = setupEngine();
    h.provider.script(
      'primary',
      fail('stream_interrupted', { message: 'unparseable SSE chunk', deltas: words('half an', 10, 10), afterMs: 50 }),
    );
    const o = await h.run(['primary']);
    assert.equal(o.ok, false);
    assert.ok(o.ok === false && o.e instanceof EngineError);
    assert.equal(o.e.code, ErrorCodes.Exhausted);
    assert.match(o.e.message, /unparseable SSE chunk/);
  });

  it('stream stalls 30 s mid-answer: detected within idleTimeoutMs, fallback answers, next request served', async () => {
    const h = setupEngine({ config: { idleTimeoutMs: 10_000 } });
    h.provider.script('primary', stallAfter(3, 'one two three four five', 100), ok('primary back'));
    h.provider.script('fallback', ok(ANSWER));
    const r = answered(await h.run(['primary', 'fallback']));
    assert.equal(r.modelUsed, 'fake/fallback');
    const stalled = r.attempts[0];
    assert.equal(stalled?.failure, 'stream_interrupted');
    // Last delta at 300 ms; the stall is called exactly idleTimeoutMs later.
    assert.equal(stalled?.latencyMs, 300 + 10_000);
    const next = answered(await h.run(['primary', 'fallback']));
    assert.equal(next.modelUsed, 'fake/primary');
  });

  it('finished stream without [DONE]: finalised at once with usage', async () => {
    const h = setupEngine();
    h.provider.script('primary', { ...ok('done early'), usage: { promptTokens: 3, completionTokens: 2 } });
    const t0 = h.clock.now();
    const r = answered(await h.run(['primary']));
    const last = h.provider.callsTo('primary')[0]?.settledAt ?? 0;
    assert.equal(t0 + r.totalLatencyMs - last, 0, 'no wait after the finish reason');
    assert.deepEqual(r.usage, { promptTokens: 3, completionTokens: 2 });
    assert.equal(r.finishReason, 'stop');
  });

  it('400 context_length_exceeded: exactly 1 primary attempt, a larger model answers, smaller ones skipped', async () => {
    const h = setupEngine({ contexts: { primary: 4096, small: 2048, big: 128_000 } });
    h.provider.script('primary', fail('context_overflow', { status: 400, message: 'context_length_exceeded' }));
    h.provider.script('small', ok('small'));
    h.provider.script('big', ok(ANSWER));
    // The estimate (≈ 3,256 tokens) fits the primary's 4,096: only the provider can say it does not.
    const r = answered(await h.run(['primary', 'small', 'big'], { prompt: 'x'.repeat(12_000) }));
    assert.equal(h.provider.callsTo('primary').length, 1);
    assert.equal(h.provider.callsTo('small').length, 0);
    assert.equal(r.modelUsed, 'fake/big');
    assert.deepEqual(
      r.attempts.map((a) => [a.model, a.outcome, a.failure]),
      [
        ['fake/primary', 'error', 'context_overflow'],
        ['fake/small', 'skipped', 'context_overflow'],
        ['fake/big', 'success', undefined],
      ],
    );
    assert.equal(h.health.get('fake/primary').failureCount, 0, 'not held against the model');
  });

  it('a prompt that clearly exceeds a known context skips that model up front, with the sizes in the trace', async () => {
    const h = setupEngine({ contexts: { primary: 4096, big: 128_000 } });
    h.provider.script('primary', ok('never asked'));
    h.provider.script('big', ok(ANSWER));
    const r = answered(await h.run(['primary', 'big'], { prompt: 'x'.repeat(20_000) }));
    assert.equal(h.provider.callsTo('primary').length, 0);
    assert.equal(r.modelUsed, 'fake/big');
    const skipped = r.attempts[0];
    assert.equal(skipped?.outcome, 'skipped');
    assert.equal(skipped?.failure, 'unsupported');
    assert.match(skipped?.message ?? '', /context 4096 < 5256 needed/);
    assert.equal(h.health.get('fake/primary').failureCount, 0);
  });

  it('400 content filter: exactly 1 primary attempt and the refusal reaches the caller (no fallback by default)', async () => {
    const h = setupEngine();
    const reason = 'content_filter: the prompt was flagged (violence)';
    h.provider.script('primary', fail('content_filter', { status: 400, message: reason }));
    h.provider.script('fallback', ok(ANSWER));
    const refused = await h.run(['primary', 'fallback']);
    assert.ok(!refused.ok && refused.e instanceof EngineError && refused.e.message.includes(reason));
    assert.match(refused.e.message, /content policy.*fake\/primary/);
    assert.equal(h.provider.callsTo('primary').length, 1);
    assert.equal(h.provider.callsTo('fallback').length, 0);
    h.config.contentPolicyFallback = true;
    const r = answered(await h.run(['primary', 'fallback']));
    assert.equal(h.provider.callsTo('primary').length, 2);
    assert.equal(r.attempts[0]?.message, reason);
    assert.equal(r.modelUsed, 'fake/fallback');
  });
});

describe('conduct: outage then recovery', () => {
  it('503 for 60 s then healthy, 20 requests 4 s apart: all answered, ≤ 1 probe per cooldown, back within one cooldown', async () => {
    const cooldownMs = 10_000;
    const maxCooldownMs = 20_000;
    const h = setupEngine({ circuit: { cooldownMs, maxCooldownMs } });
    const t0 = h.clock.now();
    const recoveredAt = t0 + 60_000;
    h.provider.scriptFn('primary', (_call, now) =>
      now < recoveredAt ? fail('server_error', { status: 503 }) : ok('primary ok'),
    );
    h.provider.script('fallback', ok(ANSWER));
    const results: CompleteResult[] = [];
    for (let i = 0; i < 20; i++) {
      const target = t0 + i * 4000;
      if (h.clock.now() < target) await h.clock.advance(target - h.clock.now());
      results.push(answered(await h.run(['primary', 'fallback'])));
    }
    assert.equal(results.length, 20);
    const opened = h.transitions.find((t) => t.model === 'fake/primary' && t.to === 'open')?.at ?? Infinity;
    const probes = h.provider.callsTo('primary').filter((c) => c.at > opened && c.at < recoveredAt);
    for (let i = 1; i < probes.length; i++)
      assert.ok((probes[i]?.at ?? 0) - (probes[i - 1]?.at ?? 0) >= cooldownMs, 'one probe per cooldown');
    const backOnPrimary = results.find((r) => r.modelUsed === 'fake/primary');
    const firstPrimaryWin = h.provider.callsTo('primary').find((c) => c.at >= recoveredAt)?.at ?? Infinity;
    assert.ok(backOnPrimary, 'traffic returned to the primary');
    assert.ok(firstPrimaryWin - recoveredAt <= maxCooldownMs, `back after ${firstPrimaryWin - recoveredAt} ms`);
    const later = results.slice(results.indexOf(backOnPrimary));
    assert.ok(
      later.every((r) => r.modelUsed === 'fake/primary'),
      'stays on the primary once it recovered',
    );
  });

  it('every model failing: -32001 at once once circuits are open, with retryAfterMs and no provider call', async () => {
    const h = setupEngine({ circuit: { failureThreshold: 1, cooldownMs: 30_000 } });
    h.provider.script('a', fail('server_error', { status: 503 }));
    h.provider.script('b', fail('network'));
    const first = await h.run(['a', 'b']);
    assert.ok(!first.ok && first.e instanceof EngineError && first.e.code === ErrorCodes.Exhausted);
    const callsBefore = h.provider.calls.length;
    await h.clock.advance(1000);
    const p = h.start(['a', 'b']);
    const e: unknown = await p.then(
      () => undefined,
      (x: unknown) => x,
    ); // no clock advance: it must answer at once
    assert.ok(e instanceof EngineError);
    assert.equal(e.code, ErrorCodes.Exhausted);
    assert.equal(e.data.kind, 'exhausted');
    assert.equal(h.provider.calls.length, callsBefore, 'no provider call');
    assert.ok(e.data.retryAfterMs !== undefined && e.data.retryAfterMs > 0 && e.data.retryAfterMs <= 30_000);
    assert.deepEqual(
      e.data.attempts?.map((a) => [a.model, a.outcome]),
      [
        ['fake/a', 'skipped'],
        ['fake/b', 'skipped'],
      ],
    );
    assert.match(e.message, /The first is back in \d+ s/);
  });
});
