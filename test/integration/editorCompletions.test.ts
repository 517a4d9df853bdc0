// Editor completions (prefix + suffix at the cursor) through the daemon on chat models: a chat-only
// server's 404 on /completions is never a failure of the model (its circuit stays closed) and the
// text to insert arrives without the fences chat models wrap it in.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { methods } from '../../protocol/index';
import type { CompleteResult, HealthReport } from '../../protocol/types';
import { FAULT_MODELS, FIXED_ANSWER, type FaultServer, startFaultServer } from '../fixtures/faultServer';
import { FENCED_INSERTION } from '../fixtures/faultTools';
import { spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';

describe('editor completions on chat models, through the daemon', () => {
  let fault: FaultServer;
  let d: ReturnType<typeof spawnStdio>;
  before(async () => {
    fault = await startFaultServer();
    const dir = tmpDir();
    const cfg = writeConfig(dir, {
      providers: [
        {
          id: 'fault',
          type: 'openai-compatible',
          baseUrl: `${fault.url}/v1`,
          // Marked FIM-capable, yet its server has no /completions route.
          modelInfo: { [FAULT_MODELS.chatOnly]: { capabilities: ['chat', 'fim'] } },
        },
      ],
      chain: [`fault/${FAULT_MODELS.chatOnly}`],
      circuit: { failureThreshold: 1 },
      maxRetries: 0,
    });
    d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
  });
  after(async () => {
    await d.kill();
    await fault.close();
  });

  const complete = (p: Record<string, unknown>) =>
    d.conn.sendRequest<CompleteResult>(methods.complete.method, { purpose: 'complete', maxTokens: 32, ...p });

  it('a chat-only server: answered in chat form, the circuit stays closed, the next one goes to chat at once', async () => {
    const r1 = await complete({ prompt: 'function add(a, b) {\n  return ', suffix: ';\n}' });
    assert.equal(r1.text, FIXED_ANSWER);
    assert.equal(r1.fallbackOccurred, false);
    assert.deepEqual(
      r1.attempts.map((a) => [a.model, a.outcome]),
      [[`fault/${FAULT_MODELS.chatOnly}`, 'success']],
      'one attempt: the 404 was handled inside it',
    );
    await complete({ prompt: 'let x = ', suffix: ';' });
    assert.deepEqual(
      fault.attemptsFor(FAULT_MODELS.chatOnly).map((a) => [a.path, a.action]),
      [
        ['/v1/completions', '404'],
        ['/v1/chat/completions', 'ok'],
        ['/v1/chat/completions', 'ok'],
      ],
    );
    const health = await d.conn.sendRequest<HealthReport>(methods.health.method);
    const h = health.perModel[`fault/${FAULT_MODELS.chatOnly}`];
    assert.equal(h?.state, 'healthy');
    assert.equal(h?.failureCount, 0, 'failureThreshold 1, yet nothing counted against the model');
  });

  it('the inserted text has no fences and no repeated prefix', async () => {
    const r = await complete({
      chain: [`fault/${FAULT_MODELS.fenced}`],
      prompt: 'function add(a, b) {\n  return ',
      suffix: ';\n}',
    });
    assert.equal(r.text, FENCED_INSERTION);
    const sent = fault.attemptsFor(FAULT_MODELS.fenced).at(-1);
    assert.equal(sent?.path, '/v1/chat/completions', 'a model not marked FIM-capable is asked in chat form');
  });
});
