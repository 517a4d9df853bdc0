// autoSwitch (the planner's adjustments applied by the engine) and queue errors as request errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCodes } from '../../protocol/errors';
import { EngineError, type PlanContext } from '../../server/core/engine';
import { maxTokensToFit } from '../../server/core/requirements';
import { fail, ok, setupEngine } from '../helpers/fakeProvider';

/** The daemon's context_overflow adjustment (Services.adjustFor): the maxTokens that fits a known context. */
const fitAdjust = (contexts: Record<string, number>) => (ctx: PlanContext) => {
  const c = contexts[ctx.model.replace(/^fake\//, '')];
  const maxTokens = ctx.failure === 'context_overflow' && c !== undefined ? maxTokensToFit(ctx.request, c) : undefined;
  return maxTokens === undefined ? undefined : { maxTokens };
};

describe('autoSwitch', () => {
  it('retries the same model once with the planner adjustments after out_of_memory, and records them', async () => {
    const seen: string[] = [];
    const h = setupEngine({
      adjust: (ctx) => {
        seen.push(`${ctx.model}:${ctx.failure}`);
        return ctx.failure === 'out_of_memory' ? { contextSize: 1024, maxTokens: 64 } : undefined;
      },
    });
    h.provider.scriptFn('local', (call) => (call === 0 ? fail('out_of_memory') : ok('it fits now')));
    const o = await h.run(['local', 'fallback'], { maxTokens: 200 });
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/local');
    assert.equal(o.r.text.trim(), 'it fits now');
    const calls = h.provider.callsTo('local');
    assert.equal(calls.length, 2);
    assert.equal(calls[0]!.request.contextSize, undefined);
    assert.equal(calls[1]!.request.contextSize, 1024);
    assert.equal(calls[1]!.request.maxTokens, 64, 'maxTokens capped by the adjustment');
    assert.deepEqual(o.r.attempts[1]!.adjustments, { contextSize: 1024, maxTokens: 64 });
    assert.deepEqual(seen, ['fake/local:out_of_memory']);
  });

  it('applies adjustments at most once, then falls back', async () => {
    const h = setupEngine({ adjust: () => ({ contextSize: 512 }) });
    h.provider.script('local', fail('out_of_memory'));
    h.provider.script('fallback', ok('lighter'));
    const o = await h.run(['local', 'fallback']);
    assert.ok(o.ok);
    assert.equal(h.provider.callsTo('local').length, 2);
    assert.equal(o.r.modelUsed, 'fake/fallback');
  });

  it('without adjustments the model is not retried', async () => {
    const h = setupEngine({ adjust: () => undefined });
    h.provider.script('local', fail('out_of_memory'));
    h.provider.script('fallback', ok('lighter'));
    const o = await h.run(['local', 'fallback']);
    assert.ok(o.ok);
    assert.equal(h.provider.callsTo('local').length, 1);
  });
});

describe('autoSwitch: context_overflow lowers maxTokens to what fits before moving on (issue 18)', () => {
  const prompt = 'x'.repeat(800); // about 200 tokens

  it('a prompt that fits with a smaller answer: the small model answers, maxTokens lowered, the trace says so', async () => {
    const contexts = { small: 300, big: 100_000 };
    const h = setupEngine({ contexts, adjust: fitAdjust(contexts) });
    h.provider.script('small', ok('short answer'));
    h.provider.script('big', ok('big answer'));
    const o = await h.run(['small', 'big'], { prompt, maxTokens: 256 });
    assert.ok(o.ok, String(!o.ok && o.e));
    assert.equal(o.r.modelUsed, 'fake/small');
    const call = h.provider.callsTo('small')[0]!;
    assert.equal(call.request.maxTokens, 300 - 200 - 32);
    const a = o.r.attempts[0]!;
    assert.deepEqual(a.adjustments, { maxTokens: 68 });
    assert.match(a.message ?? '', /maxTokens lowered from 256 to 68 to fit fake\/small's context of 300 tokens/);
  });

  it('the provider reports an overflow: retried once with the maxTokens that fits, then the answer', async () => {
    const contexts = { small: 400 };
    const h = setupEngine({ adjust: fitAdjust(contexts) });
    h.provider.scriptFn('small', (call) => (call === 0 ? fail('context_overflow') : ok('fits now')));
    const o = await h.run(['small'], { prompt, maxTokens: 1000 });
    assert.ok(o.ok, String(!o.ok && o.e));
    assert.deepEqual(
      h.provider.callsTo('small').map((c) => c.request.maxTokens),
      [1000, 400 - 200 - 32],
    );
    assert.match(o.r.attempts[1]!.message ?? '', /maxTokens lowered from 1000 to 168/);
  });

  it('a prompt that leaves no room for an answer moves on to the next model, as before', async () => {
    const contexts = { small: 220, big: 100_000 };
    const h = setupEngine({ contexts, adjust: fitAdjust(contexts) });
    h.provider.script('big', ok('big answer'));
    const o = await h.run(['small', 'big'], { prompt, maxTokens: 256 });
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/big');
    assert.equal(h.provider.callsTo('small').length, 0);
    assert.match(o.r.attempts[0]!.message ?? '', /context 220 < 456 needed/);
  });

  it('without autoSwitch (no adjustment) a context that is too small is skipped', async () => {
    const h = setupEngine({ contexts: { small: 300, big: 100_000 }, adjust: () => undefined });
    h.provider.script('big', ok('big answer'));
    const o = await h.run(['small', 'big'], { prompt, maxTokens: 256 });
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/big');
  });
});

describe('queue errors', () => {
  it('a full queue on the only model is the request error (-32002), not "exhausted"', async () => {
    const full = Object.assign(new Error('the queue for fake/only is full (maxSize 1)'), {
      code: ErrorCodes.QueueFull,
    });
    const h = setupEngine({
      acquire: () => async () => {
        throw full;
      },
    });
    h.provider.script('only', ok('never'));
    const o = await h.run(['only']);
    assert.ok(!o.ok);
    assert.ok(o.e instanceof EngineError);
    assert.equal(o.e.code, ErrorCodes.QueueFull);
    assert.equal(h.provider.callsTo('only').length, 0);
  });
});
