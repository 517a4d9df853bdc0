// A provider's content-policy refusal goes back to the caller by default (issue 15, finding 8), through
// the BUILT daemon against the fault server, for the OpenAI, Anthropic and Gemini wire formats, over
// JSON-RPC and through the OpenAI-compatible gateway; `contentPolicyFallback: true` fails over instead.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CONTENT_FILTER_REASON,
  FAULT_MODELS,
  FIXED_ANSWER,
  startFaultServer,
  type FaultServer,
} from '../fixtures/faultServer';
import { spawnCli, tmpDir, waitForDaemonFile, writeConfig, type Spawned } from '../helpers/daemon';

let fault: FaultServer;
let proc: Spawned;
let base = '';
let token = '';
let seq = 0;

interface RpcReply<R> {
  result?: R;
  error?: { code: number; message: string; data?: { kind?: string; attempts?: { model: string; failure?: string }[] } };
}

async function rpc<R>(method: string, params: unknown): Promise<RpcReply<R>> {
  const r = await fetch(`${base}/rpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++seq, method, params }),
  });
  return (await r.json()) as RpcReply<R>;
}

before(async () => {
  fault = await startFaultServer();
  const dir = tmpDir('backstop-policy-');
  const cfg = writeConfig(dir, {
    providers: [
      { id: 'oa', type: 'openai-compatible', baseUrl: `${fault.url}/v1` },
      { id: 'an', type: 'anthropic', baseUrl: fault.url, apiKeyEnv: 'BACKSTOP_POLICY_TEST_KEY' },
      { id: 'ge', type: 'gemini', baseUrl: fault.url, apiKeyEnv: 'BACKSTOP_POLICY_TEST_KEY' },
    ],
    chain: [`oa/${FAULT_MODELS.contentFilter}+gw`, `oa/${FAULT_MODELS.ok}+gw`],
    maxRetries: 0,
  });
  const stateDir = path.join(dir, 'state');
  proc = spawnCli(['serve', '--http', '0', '--config', cfg, '--state-dir', stateDir], {
    BACKSTOP_POLICY_TEST_KEY: 'test-key',
  });
  const info = await waitForDaemonFile(stateDir, proc);
  base = `http://127.0.0.1:${info.httpPort}`;
  token = info.token;
});
after(async () => {
  await proc?.kill();
  await fault.close();
});

describe('content-policy refusals', { concurrency: false }, () => {
  for (const provider of ['oa', 'an', 'ge'] as const) {
    it(`${provider}: refused by default, -32602 kind content_filter naming the model; the next model is not asked`, async () => {
      const refusing = `${provider}/${FAULT_MODELS.contentFilter}+${provider}1`;
      const next = `oa/${FAULT_MODELS.ok}+${provider}1`;
      const reply = await rpc('backstop/complete', { prompt: 'say the fixed answer', chain: [refusing, next] });
      assert.ok(reply.error, JSON.stringify(reply));
      assert.equal(reply.error.code, -32602);
      assert.equal(reply.error.data?.kind, 'content_filter');
      assert.match(reply.error.message, /content policy/);
      assert.ok(reply.error.message.includes(refusing), reply.error.message);
      assert.deepEqual(
        reply.error.data?.attempts?.map((a) => [a.model, a.failure]),
        [[refusing, 'content_filter']],
      );
      assert.equal(fault.attemptsFor(next.slice(3)).length, 0, 'no fallback');
    });
  }

  it('the gateway answers 400 with code content_filter and the refusal, never another model', async () => {
    const r = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ model: 'backstop', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(r.status, 400);
    const body = (await r.json()) as { error: { message: string; code: string; type: string } };
    assert.equal(body.error.code, 'content_filter');
    assert.equal(body.error.type, 'invalid_request_error');
    assert.ok(body.error.message.includes(CONTENT_FILTER_REASON), body.error.message);
    assert.equal(fault.attemptsFor(`${FAULT_MODELS.ok}+gw`).length, 0);
  });

  it('contentPolicyFallback: true (set at run time) fails over to the next model', async () => {
    const set = await rpc('backstop/setConfig', { contentPolicyFallback: true });
    assert.ok(!set.error, JSON.stringify(set.error));
    const refusing = `an/${FAULT_MODELS.contentFilter}+fb`;
    const reply = await rpc<{ text: string; modelUsed: string; attempts: { model: string; failure?: string }[] }>(
      'backstop/complete',
      { prompt: 'say the fixed answer', chain: [refusing, `oa/${FAULT_MODELS.ok}+fb`] },
    );
    assert.ok(reply.result, JSON.stringify(reply.error));
    assert.equal(reply.result.text, FIXED_ANSWER);
    assert.equal(reply.result.modelUsed, `oa/${FAULT_MODELS.ok}+fb`);
    assert.equal(reply.result.attempts[0]?.failure, 'content_filter');
  });
});
