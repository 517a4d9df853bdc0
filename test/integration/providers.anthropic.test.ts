// Anthropic Messages provider against the fault server: the shared contract plus its headers and body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_MODELS } from '../fixtures/faultServer';
import { createCloudProvider } from '../../server/providers/cloud';
import { TEST_KEY, noKeyInErrors, providerContract } from './providers.contract';

const env = providerContract('anthropic', (base) => ({
  id: 'claude',
  type: 'anthropic',
  baseUrl: base,
  apiKeyEnv: 'TEST_API_KEY',
}));

test('anthropic: x-api-key, default anthropic-version, system hoisted, max_tokens always set', async () => {
  await env.run(env.provider(), {
    model: FAULT_MODELS.ok,
    messages: [
      { role: 'system', content: 'terse' },
      { role: 'user', content: 'hi' },
    ],
    stop: ['X'],
  });
  const [a] = env.server().attemptsFor(FAULT_MODELS.ok);
  assert.equal(a?.path, '/v1/messages');
  assert.equal(a?.headers['x-api-key'], TEST_KEY);
  assert.equal(a?.headers['anthropic-version'], '2023-06-01');
  assert.equal(a?.headers.authorization, undefined);
  assert.deepEqual(a?.body, {
    model: FAULT_MODELS.ok,
    max_tokens: 4096,
    messages: [{ role: 'user', content: 'hi' }],
    system: 'terse',
    stream: true,
    stop_sequences: ['X'],
  });
});

test('anthropic: anthropicVersion from the config is sent', async () => {
  const p = createCloudProvider(
    { id: 'claude', type: 'anthropic', baseUrl: env.server().url, anthropicVersion: '2099-01-01' },
    { getApiKey: () => TEST_KEY },
  );
  await env.run(p, { model: FAULT_MODELS.ok, prompt: 'hi' });
  assert.equal(env.server().attemptsFor(FAULT_MODELS.ok)[0]?.headers['anthropic-version'], '2099-01-01');
});

test('anthropic: no key → auth at once, naming the env var, without a network call', async () => {
  const e = await env.fails(env.provider(null), { model: FAULT_MODELS.ok, prompt: 'hi' }, 'auth');
  assert.match(e.message, /TEST_API_KEY/);
  assert.equal(env.server().attempts.length, 0);
});

noKeyInErrors(env);
