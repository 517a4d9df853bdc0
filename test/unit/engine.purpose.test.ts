// Inline completions run on deadlines of a few hundred milliseconds: their timeouts move the request on
// but never open a circuit that chat and the Complete command rely on. Tool-call deltas reach the caller
// through the stream gate like text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ToolCallDelta } from '../../protocol/types';
import { fail, ok, setupEngine } from '../helpers/fakeProvider';

describe('per-purpose health accounting', () => {
  it('inline timeouts fall over to the next model without counting against the slow one', async () => {
    const h = setupEngine({ circuit: { failureThreshold: 2 } });
    for (let i = 0; i < 5; i++) {
      h.provider.script('slow', fail('timeout', { message: 'no first token' }));
      h.provider.script('fast', ok('done'));
      const r = await h.run(['slow', 'fast'], { purpose: 'inline', prompt: 'x', suffix: 'y' });
      assert.ok(r.ok);
      assert.equal(r.r.modelUsed, 'fake/fast');
    }
    const slow = h.health.get('fake/slow');
    assert.equal(slow.failureCount, 0);
    assert.equal(slow.state, 'healthy', 'no circuit opened by ghost-text deadlines');
  });

  it('the same timeouts from the Complete command do count (and open the circuit)', async () => {
    const h = setupEngine({ circuit: { failureThreshold: 2 } });
    for (let i = 0; i < 2; i++) {
      h.provider.script('slow', fail('timeout', { message: 'no first token' }));
      h.provider.script('fast', ok('done'));
      await h.run(['slow', 'fast'], { purpose: 'complete' });
    }
    assert.equal(h.health.get('fake/slow').state, 'open');
  });

  it('a server error on an inline request still counts (it says something about the model)', async () => {
    const h = setupEngine({ circuit: { failureThreshold: 1 }, config: { maxRetries: 0 } });
    h.provider.script('flaky', fail('server_error', { status: 500 }));
    h.provider.script('fast', ok('done'));
    await h.run(['flaky', 'fast'], { purpose: 'inline' });
    assert.equal(h.health.get('fake/flaky').failureCount, 1);
  });
});

describe('tool calls through the engine', () => {
  it('the tool calls of the winning attempt reach a streaming caller and the result', async () => {
    const h = setupEngine();
    h.provider.script('m', {
      ...ok(''),
      finishReason: 'tool_calls',
      toolCalls: [{ id: 'c1', name: 'f', arguments: '{"a":1}' }],
    });
    const seen: ToolCallDelta[] = [];
    const run = await h.run(['m'], {}, { onDelta: () => undefined, onToolCallDelta: (d) => seen.push(d) });
    assert.ok(run.ok);
    const r = run.r;
    assert.deepEqual(r.toolCalls, [{ id: 'c1', name: 'f', arguments: '{"a":1}' }]);
    assert.equal(r.finishReason, 'tool_calls');
    assert.deepEqual(seen, [{ index: 0, id: 'c1', name: 'f', arguments: '{"a":1}' }]);
  });

  it('a request needing tools skips a model known to lack them, with the reason, and -32007 when none has them', async () => {
    const h = setupEngine({ capabilities: { notools: ['chat'] } });
    const tools = [{ name: 'f' }];
    const run = await h.run(['notools'], { tools });
    assert.ok(!run.ok);
    const e = run.e as { code: number; message: string; data: { attempts: { outcome: string; failure?: string }[] } };
    assert.equal(e.code, -32007);
    assert.match(e.message, /tools/);
    assert.equal(e.data.attempts[0]?.outcome, 'skipped');
    assert.equal(e.data.attempts[0]?.failure, 'unsupported');
    assert.equal(h.provider.callsTo('notools').length, 0);
  });
});
