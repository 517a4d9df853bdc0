// autoSwitch (the planner's adjustments applied by the engine) and queue errors as request errors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCodes } from '../../protocol/errors';
import { EngineError, type PlanContext } from '../../server/core/engine';
import type { ChatMessage } from '../../protocol/types';
import { maxTokensToFit, trimConversation } from '../../server/core/requirements';
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

describe('trimPrompt: the caller allows leaving out the oldest turns to fit a context (issue 18)', () => {
  const turn = (n: number): ChatMessage[] => [
    { role: 'user', content: `question ${n} ${'q'.repeat(400)}` },
    { role: 'assistant', content: `answer ${n} ${'a'.repeat(400)}` },
  ];
  // ≈ 200 tokens a turn; the last user turn ≈ 100 tokens; the system prompt ≈ 25.
  const messages: ChatMessage[] = [
    { role: 'system', content: 's'.repeat(100) },
    ...turn(1),
    ...turn(2),
    ...turn(3),
    { role: 'user', content: `last ${'l'.repeat(400)}` },
  ];

  it('with trimPrompt, the oldest turns go (system prompt and last turn stay) and the trace says how many', async () => {
    const contexts = { small: 600, big: 100_000 };
    const h = setupEngine({ contexts, adjust: fitAdjust(contexts) });
    h.provider.script('small', ok('fits'));
    const o = await h.run(['small', 'big'], { messages, maxTokens: 200, trimPrompt: true });
    assert.ok(o.ok, String(!o.ok && o.e));
    assert.equal(o.r.modelUsed, 'fake/small');
    const sent = h.provider.callsTo('small')[0]!.request.messages!;
    assert.equal(sent[0]?.role, 'system');
    assert.equal(sent.at(-1), messages.at(-1));
    assert.ok(sent.length < messages.length && sent.length >= 2, `${sent.length} messages sent`);
    // Whole turns only: every answer kept still follows its question.
    for (let i = 1; i < sent.length - 1; i++)
      if (sent[i]!.role === 'assistant') assert.equal(sent[i - 1]!.role, 'user');
    const a = o.r.attempts[0]!;
    assert.equal(a.adjustments?.droppedTurns, (messages.length - sent.length) / 2);
    assert.match(a.message ?? '', /left out the \d+ oldest turns? of the conversation .* fake\/small's context of 600/);
    assert.equal(h.provider.callsTo('big').length, 0);
  });

  it('without trimPrompt the conversation is never cut: the next model serves it whole', async () => {
    const contexts = { small: 600, big: 100_000 };
    const h = setupEngine({ contexts, adjust: fitAdjust(contexts) });
    h.provider.script('big', ok('whole'));
    const o = await h.run(['small', 'big'], { messages, maxTokens: 200 });
    assert.ok(o.ok);
    assert.equal(o.r.modelUsed, 'fake/big');
    assert.deepEqual(h.provider.callsTo('big')[0]!.request.messages, messages);
  });

  it('trimConversation keeps tool calls with their results, and gives up when the last turn alone is too big', () => {
    const withTools: ChatMessage[] = [
      { role: 'user', content: 'u'.repeat(800) },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 't', arguments: '{}' }] },
      { role: 'tool', toolCallId: 'c1', content: 'r'.repeat(800) },
      { role: 'user', content: 'next' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c2', name: 't', arguments: '{}' }] },
      { role: 'tool', toolCallId: 'c2', content: 'ok' },
    ];
    const t = trimConversation({ messages: withTools, maxTokens: 16 }, 100);
    assert.deepEqual(t?.messages, withTools.slice(3));
    assert.equal(t?.droppedTurns, 1);
    assert.equal(trimConversation({ messages: withTools, maxTokens: 16 }, 40), undefined);
    assert.equal(trimConversation({ messages: [{ role: 'user', content: 'x'.repeat(9000) }] }, 100), undefined);
  });
});
