// Engine rules one by one: retry policy per failure kind, deadlines, cancellation, stream
// integrity, the failover drill, queue slots, exhaustion with a plan, and the events.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCodes } from '../../protocol/errors';
import type { FailureKind, FallbackPlan } from '../../protocol/types';
import { EngineError } from '../../server/core/engine';
import { fail, hang, noFinish, ok, setupEngine, words } from '../helpers/fakeProvider';

describe('retry policy by failure kind', () => {
  const table: Array<{ kind: FailureKind; primaryCalls: number; counted: boolean }> = [
    { kind: 'server_error', primaryCalls: 3, counted: true },
    { kind: 'network', primaryCalls: 3, counted: true },
    { kind: 'timeout', primaryCalls: 1, counted: true },
    { kind: 'stream_interrupted', primaryCalls: 1, counted: true },
    { kind: 'model_load', primaryCalls: 1, counted: true },
    { kind: 'out_of_memory', primaryCalls: 1, counted: true },
    { kind: 'model_missing', primaryCalls: 1, counted: true },
    { kind: 'bad_request', primaryCalls: 1, counted: false },
    { kind: 'auth', primaryCalls: 1, counted: false },
  ];
  for (const { kind, primaryCalls, counted } of table) {
    it(`${kind}: ${primaryCalls} primary call(s), ${counted ? 'counts' : 'does not count'} against the model`, async () => {
      const h = setupEngine({ config: { maxRetries: 2 }, circuit: { failureThreshold: 10 } });
      h.provider.script('primary', fail(kind, { message: `why: ${kind}` }));
      h.provider.script('fallback', ok('fine'));
      const o = await h.run(['primary', 'fallback']);
      assert.ok(o.ok);
      assert.equal(h.provider.callsTo('primary').length, primaryCalls);
      assert.equal(o.r.modelUsed, 'fake/fallback');
      assert.equal(o.r.attempts[0]?.message, `why: ${kind}`);
      assert.equal(h.health.get('fake/primary').failureCount, counted ? primaryCalls : 0);
    });
  }

  it('content_filter (default): the refusal goes back to the caller, naming the model; no other model is called', async () => {
    const h = setupEngine();
    h.provider.script('primary', fail('content_filter', { message: 'why: flagged' }));
    h.provider.script('fallback', ok('fine'));
    const o = await h.run(['primary', 'fallback']);
    assert.ok(!o.ok && o.e instanceof EngineError);
    assert.equal(o.e.code, ErrorCodes.InvalidParams);
    assert.equal(o.e.data.kind, 'content_filter');
    assert.match(o.e.message, /content policy/);
    assert.match(o.e.message, /fake\/primary/);
    assert.match(o.e.message, /why: flagged/);
    assert.equal(h.provider.callsTo('primary').length, 1);
    assert.equal(h.provider.callsTo('fallback').length, 0);
    assert.deepEqual(
      o.e.data.attempts?.map((a) => [a.model, a.failure]),
      [['fake/primary', 'content_filter']],
    );
    assert.equal(h.health.get('fake/primary').failureCount, 0, 'not held against the model');
    assert.equal(h.events.filter((e) => e.type === 'fallback').length, 0);
  });

  it('content_filter with contentPolicyFallback: 1 primary call, the next model answers', async () => {
    const h = setupEngine({ config: { contentPolicyFallback: true } });
    h.provider.script('primary', fail('content_filter', { message: 'why: flagged' }));
    h.provider.script('fallback', ok('fine'));
    const o = await h.run(['primary', 'fallback']);
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/fallback');
    assert.equal(h.provider.callsTo('primary').length, 1);
    assert.equal(o.r.attempts[0]?.message, 'why: flagged');
    assert.equal(h.health.get('fake/primary').failureCount, 0);
  });

  it('retries honour maxRetries and back off exponentially (no jitter)', async () => {
    const h = setupEngine({
      config: { maxRetries: 3, backoff: { baseMs: 100, maxMs: 250, jitter: false } },
      circuit: { failureThreshold: 10 },
    });
    h.provider.script('primary', fail('server_error', { afterMs: 0 }));
    await h.run(['primary']);
    const at = h.provider.callsTo('primary').map((c) => c.at - (h.provider.calls[0]?.at ?? 0));
    assert.deepEqual(at, [0, 100, 300, 550]);
  });

  it('a Retry-After beyond maxRetryAfterMs fails over at once', async () => {
    const h = setupEngine({ config: { maxRetryAfterMs: 5000 } });
    h.provider.script('primary', fail('rate_limited', { status: 429, retryAfterMs: 60_000, afterMs: 0 }));
    h.provider.script('fallback', ok('fine'));
    const o = await h.run(['primary', 'fallback']);
    assert.ok(o.ok);
    assert.equal(h.provider.callsTo('primary').length, 1);
    assert.equal(h.provider.callsTo('fallback')[0]?.at, h.provider.callsTo('primary')[0]?.at);
    assert.equal(
      h.health.get('fake/primary').cooldownUntil,
      new Date((h.provider.calls[0]?.at ?? 0) + 60_000).toISOString(),
    );
  });

  it('auth marks the model as needing a key with a message that says what to do', async () => {
    const h = setupEngine();
    h.provider.script('primary', fail('auth', { status: 401, message: 'invalid x-api-key' }));
    h.provider.script('fallback', ok('fine'));
    await h.run(['primary', 'fallback']);
    const m = h.health.get('fake/primary');
    assert.equal(m.needsKey, true);
    assert.match(m.lastFailureMessage ?? '', /invalid x-api-key.*Set the provider's key/);
  });
});

describe('deadlines', () => {
  it('per attempt: a stream that never finishes is cut at timeoutMs', async () => {
    const h = setupEngine({ config: { timeoutMs: 5000, idleTimeoutMs: 2000, maxRetries: 0 } });
    const endless = Array.from({ length: 100 }, (_, i): [number, string] => [i * 1000 + 10, 'x ']);
    h.provider.script('primary', { deltas: endless, end: 'hang' });
    h.provider.script('fallback', ok('fine'));
    const o = await h.run(['primary', 'fallback']);
    assert.ok(o.ok);
    assert.deepEqual([o.r.attempts[0]?.outcome, o.r.attempts[0]?.latencyMs], ['timeout', 5000]);
    assert.equal(h.provider.callsTo('primary')[0]?.abortedAt, (h.provider.calls[0]?.at ?? 0) + 5000);
  });

  it('whole request: -32003 at requestTimeoutMs (params.timeoutMs wins), the provider call aborted', async () => {
    const h = setupEngine({ config: { requestTimeoutMs: 60_000, firstTokenTimeoutMs: 100_000, timeoutMs: 100_000 } });
    h.provider.script('primary', hang());
    const t0 = h.clock.now();
    const o = await h.run(['primary'], { timeoutMs: 7000 });
    assert.ok(!o.ok && o.e instanceof EngineError);
    assert.equal(o.e.code, ErrorCodes.Timeout);
    assert.match(o.e.message, /7 s deadline/);
    assert.equal(h.provider.callsTo('primary')[0]?.abortedAt, t0 + 7000);
    assert.equal(o.e.data.attempts?.[0]?.outcome, 'timeout');
    assert.equal(h.health.get('fake/primary').failureCount, 0, 'our deadline is not the model failing');
  });
});

describe('cancellation', () => {
  it('stops at once with -32800, aborts the provider and calls nothing else', async () => {
    const h = setupEngine();
    h.provider.script('primary', hang());
    h.provider.script('fallback', ok('fine'));
    const ac = new AbortController();
    const p = h.start(['primary', 'fallback'], {}, { signal: ac.signal });
    await h.clock.advance(300);
    ac.abort();
    const e: unknown = await p.then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(e instanceof EngineError);
    assert.equal(e.code, ErrorCodes.RequestCancelled);
    assert.equal(h.provider.callsTo('primary')[0]?.abortedAt, h.clock.now());
    assert.equal(h.provider.callsTo('fallback').length, 0);
    assert.equal(e.data.attempts?.[0]?.outcome, 'cancelled');
  });

  it('cancelling during a backoff wait stops the retries', async () => {
    const h = setupEngine({ config: { backoff: { baseMs: 5000, maxMs: 5000, jitter: false } } });
    h.provider.script('primary', fail('server_error'));
    const ac = new AbortController();
    const p = h.start(['primary'], {}, { signal: ac.signal });
    await h.clock.advance(1000);
    ac.abort();
    const e: unknown = await p.then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(e instanceof EngineError && e.code === ErrorCodes.RequestCancelled);
    await h.clock.advance(20_000);
    assert.equal(h.provider.callsTo('primary').length, 1);
  });

  it('an already-aborted signal never reaches a provider', async () => {
    const h = setupEngine();
    h.provider.script('primary', ok('x'));
    const e: unknown = await h.start(['primary'], {}, { signal: AbortSignal.abort() }).then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(e instanceof EngineError && e.code === ErrorCodes.RequestCancelled);
    assert.equal(h.provider.calls.length, 0);
  });
});

describe('stream integrity', () => {
  it('a result without a finish reason is a failed attempt, never the answer', async () => {
    const h = setupEngine();
    h.provider.script('primary', noFinish('truncated answer'));
    h.provider.script('fallback', ok('complete answer'));
    const o = await h.run(['primary', 'fallback']);
    assert.ok(o.ok);
    assert.equal(o.r.text, 'complete answer');
    assert.equal(o.r.attempts[0]?.failure, 'stream_interrupted');
  });

  it('a retry on the same model after forwarded deltas resets the stream first', async () => {
    const h = setupEngine();
    h.provider.script(
      'primary',
      fail('server_error', { deltas: words('broken half', 10, 10), afterMs: 30 }),
      ok('whole answer'),
    );
    const log: string[] = [];
    const o = await h.run(
      ['primary'],
      {},
      { onDelta: (d, m) => log.push(`${m}:${d}`), onReset: (m) => log.push(`reset:${m}`) },
    );
    assert.ok(o.ok);
    assert.deepEqual(log, [
      'fake/primary:broken ',
      'fake/primary:half',
      'reset:fake/primary',
      'fake/primary:whole ',
      'fake/primary:answer',
    ]);
  });

  it('no reset when nothing was forwarded before the fallback', async () => {
    const h = setupEngine();
    h.provider.script('primary', fail('bad_request'));
    h.provider.script('fallback', ok('fine'));
    let resets = 0;
    const o = await h.run(['primary', 'fallback'], {}, { onDelta: () => {}, onReset: () => resets++ });
    assert.ok(o.ok);
    assert.equal(resets, 0);
  });
});

describe('failover drill (forceFail)', () => {
  it('fails the listed models at once without a call and without touching their health', async () => {
    const h = setupEngine();
    h.provider.script('primary', ok('not called'));
    h.provider.script('fallback', ok('drill answer'));
    const o = await h.run(['primary', 'fallback'], { forceFail: { models: ['fake/primary'], kind: 'timeout' } });
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/fallback');
    assert.equal(h.provider.callsTo('primary').length, 0);
    assert.deepEqual([o.r.attempts[0]?.failure, o.r.attempts[0]?.outcome], ['timeout', 'error']);
    assert.deepEqual(h.health.get('fake/primary'), setupEngine().health.get('fake/primary'));
    const fb = h.events.find((e) => e.type === 'fallback');
    assert.ok(fb?.type === 'fallback' && fb.from === 'fake/primary' && fb.failure === 'timeout');
  });

  it('a drill on a recovering model gives its probe slot back', async () => {
    const h = setupEngine({ circuit: { failureThreshold: 1, cooldownMs: 1000 } });
    h.provider.script('primary', fail('server_error', { afterMs: 0 }), ok('recovered'));
    h.provider.script('fallback', ok('fine'));
    await h.run(['primary', 'fallback']);
    await h.clock.advance(1000);
    await h.run(['primary', 'fallback'], { forceFail: { models: ['fake/primary'] } });
    const o = await h.run(['primary', 'fallback']);
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/primary');
  });
});

describe('queue slots', () => {
  it('waits in acquire count as queuedMs, every slot is released, the lane signal is passed', async () => {
    const released: string[] = [];
    const seen: Array<[string, boolean]> = [];
    const h = setupEngine({
      acquire: (clock) => (model, priority, signal) => {
        // The lane's cancellation (a Cancel, which the queue reads like an AbortSignal), not yet aborted.
        seen.push([priority, typeof signal.addEventListener === 'function' && !signal.aborted]);
        return new Promise((resolve) => clock.setTimeout(() => resolve(() => released.push(model)), 1500));
      },
    });
    h.provider.script('primary', fail('bad_request'));
    h.provider.script('fallback', ok('fine'));
    const o = await h.run(['primary', 'fallback'], { priority: 'high' });
    assert.ok(o.ok);
    assert.equal(o.r.queuedMs, 3000);
    assert.deepEqual(released, ['fake/primary', 'fake/fallback']);
    assert.deepEqual(seen, [
      ['high', true],
      ['high', true],
    ]);
  });

  it('a cancelled wait for a slot gives the slot back when it arrives', async () => {
    let released = 0;
    const h = setupEngine({
      acquire: (clock) => () => new Promise((resolve) => clock.setTimeout(() => resolve(() => released++), 1000)),
    });
    h.provider.script('primary', ok('x'));
    const ac = new AbortController();
    const p = h.start(['primary'], {}, { signal: ac.signal });
    await h.clock.advance(100);
    ac.abort();
    await assert.rejects(p, (e: unknown) => e instanceof EngineError && e.code === ErrorCodes.RequestCancelled);
    await h.clock.advance(2000);
    assert.equal(released, 1);
    assert.equal(h.provider.calls.length, 0);
  });
});

describe('exhaustion', () => {
  it('issue 17: names each model once with its reason in words, even when the provider message repeats the model', async () => {
    const h = setupEngine({ config: { maxRetries: 1 }, circuit: { failureThreshold: 10 } });
    h.provider.script('a', fail('rate_limited', { message: 'fake/a: rate limited (HTTP 429): slow down' }));
    h.provider.script('b', fail('server_error', { message: 'HTTP 503' }));
    const o = await h.run(['a', 'b']);
    assert.ok(!o.ok && o.e instanceof EngineError);
    assert.match(
      o.e.message,
      /^No model in the chain could answer: fake\/a \(rate limited \(HTTP 429\): slow down\); fake\/b \(server error: HTTP 503\)\./,
    );
    assert.equal(o.e.message.split('fake/a').length, 2, o.e.message);
    assert.doesNotMatch(o.e.message, /data\.|\d{4,} ?ms|model\(s\)/);
  });

  it('carries the planner plan and every attempt; an empty or unknown chain says what to fix', async () => {
    const plan: FallbackPlan = {
      failure: 'server_error',
      recommended: { type: 'queue_and_wait', confidence: 0.5, message: 'wait' },
      options: [],
    };
    const seen: string[] = [];
    const h = setupEngine({ plan: (ctx) => (seen.push(`${ctx.model}:${ctx.failure}`), plan) });
    h.provider.script('primary', fail('model_load', { message: 'bad gguf' }));
    const o = await h.run(['primary']);
    assert.ok(!o.ok && o.e instanceof EngineError);
    assert.deepEqual(o.e.data.plan, plan);
    assert.deepEqual(seen, ['fake/primary:model_load']);
    assert.match(o.e.message, /fake\/primary \(model load: bad gguf\)/);
    const empty = await h.run([]);
    assert.ok(!empty.ok && empty.e instanceof EngineError && /chain is empty/.test(empty.e.message));
    const unknown = await h.engine
      .run({ prompt: 'x', chain: ['nope/model'] }, { requestId: 'u', signal: new AbortController().signal })
      .then(
        () => undefined,
        (x: unknown) => x,
      );
    assert.ok(
      unknown instanceof EngineError &&
        unknown.code === ErrorCodes.Exhausted &&
        /no configured provider serves it/.test(unknown.message),
    );
  });

  it('emits an attempt event for every attempt', async () => {
    const h = setupEngine();
    h.provider.script('primary', fail('server_error'), fail('server_error'), ok('third time'));
    const o = await h.run(['primary']);
    assert.ok(o.ok);
    const attempts = h.events.filter((e) => e.type === 'attempt');
    assert.equal(attempts.length, 3);
    assert.deepEqual(
      attempts.map((e) => e.type === 'attempt' && e.attempt.retry),
      [0, 1, 2],
    );
  });
});
