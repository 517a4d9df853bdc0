// Ollama native provider against the fault server: the shared contract plus NDJSON specifics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_MODELS, FIXED_ANSWER } from '../fixtures/faultServer';
import { TEST_KEY, noKeyInErrors, providerContract } from './providers.contract';

const env = providerContract('ollama', (base) => ({
  id: 'oll',
  type: 'ollama',
  baseUrl: base,
  apiKeyEnv: 'TEST_API_KEY',
}));

test('ollama: /api/chat with stream true, options mapped, Bearer only when a key is set', async () => {
  await env.run(env.provider(), {
    model: FAULT_MODELS.ok,
    messages: [{ role: 'user', content: 'hi' }],
    maxTokens: 16,
    temperature: 0,
    stop: ['END'],
    contextSize: 4096,
  });
  const [a] = env.server().attemptsFor(FAULT_MODELS.ok);
  assert.equal(a?.path, '/api/chat');
  assert.equal(a?.headers.authorization, `Bearer ${TEST_KEY}`);
  assert.deepEqual(a?.body, {
    model: FAULT_MODELS.ok,
    stream: true,
    messages: [{ role: 'user', content: 'hi' }],
    options: { num_predict: 16, temperature: 0, stop: ['END'], num_ctx: 4096 },
  });
});

test('ollama: a suffix (FIM) goes to /api/generate', async () => {
  const r = await env.run(env.provider(), { model: FAULT_MODELS.ok, prompt: 'def f(', suffix: '):' });
  assert.equal(r.text, FIXED_ANSWER);
  const [a] = env.server().attemptsFor(FAULT_MODELS.ok);
  assert.equal(a?.path, '/api/generate');
  assert.equal(a?.body.suffix, '):');
});

test('ollama: listModels carries size, quantization and /api/show capabilities', async () => {
  const models = await env.provider(null).listModels?.(AbortSignal.timeout(5000));
  const ok = models?.find((m) => m.name === FAULT_MODELS.ok);
  assert.equal(ok?.sizeBytes, 4_000_000);
  assert.equal(ok?.quantization, 'Q4_0');
  assert.deepEqual(ok?.capabilities?.sort(), ['chat', 'completion', 'fim']);
});

noKeyInErrors(env);
