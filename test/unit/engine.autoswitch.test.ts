// autoSwitch (the planner's adjustments applied by the engine) and queue errors as request errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCodes } from '../../protocol/errors';
import { EngineError } from '../../server/core/engine';
import { fail, ok, setupEngine } from '../helpers/fakeProvider';

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
