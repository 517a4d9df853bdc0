// Gemini provider against the fault server: the shared contract plus its URL, header and body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_MODELS } from '../fixtures/faultServer';
import { TEST_KEY, noKeyInErrors, providerContract } from './providers.contract';

const env = providerContract('gemini', (base) => ({
  id: 'gem',
  type: 'gemini',
  baseUrl: base,
  apiKeyEnv: 'TEST_API_KEY',
}));

test('gemini: streamGenerateContent?alt=sse, key in x-goog-api-key and never in the URL, roles mapped', async () => {
  await env.run(env.provider(), {
    model: FAULT_MODELS.ok,
    messages: [
      { role: 'system', content: 'terse' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'yo' },
      { role: 'user', content: 'again' },
    ],
    maxTokens: 8,
  });
  const [a] = env.server().attemptsFor(FAULT_MODELS.ok);
  assert.equal(a?.path, `/v1beta/models/${FAULT_MODELS.ok}:streamGenerateContent`);
  assert.equal(a?.query, '?alt=sse');
  assert.equal(a?.headers['x-goog-api-key'], TEST_KEY);
  assert.deepEqual(a?.body, {
    contents: [
      { role: 'user', parts: [{ text: 'hi' }] },
      { role: 'model', parts: [{ text: 'yo' }] },
      { role: 'user', parts: [{ text: 'again' }] },
    ],
    systemInstruction: { parts: [{ text: 'terse' }] },
    generationConfig: { maxOutputTokens: 8 },
  });
});

test('gemini: a "models/" prefixed name is accepted', async () => {
  await env.run(env.provider(), { model: `models/${FAULT_MODELS.ok}`, prompt: 'hi' });
  assert.equal(env.server().attemptsFor(FAULT_MODELS.ok).length, 1);
});

test('gemini: no key → auth at once, without a network call', async () => {
  await env.fails(env.provider(null), { model: FAULT_MODELS.ok, prompt: 'hi' }, 'auth');
  assert.equal(env.server().attempts.length, 0);
});

noKeyInErrors(env);
