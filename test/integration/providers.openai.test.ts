// OpenAI-compatible provider against the fault server: the shared contract plus the format's own rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_MODELS, FIXED_ANSWER } from '../fixtures/faultServer';
import { TEST_KEY, noKeyInErrors, providerContract } from './providers.contract';
import { createCloudProvider } from '../../server/providers/cloud';

const env = providerContract('openai', (base) => ({
  id: 'oai',
  type: 'openai-compatible',
  baseUrl: `${base}/v1`,
  apiKeyEnv: 'TEST_API_KEY',
}));

test('openai: chat request asks for a stream with usage, Bearer auth and the caller options', async () => {
  await env.run(env.provider(), {
    model: FAULT_MODELS.ok,
    prompt: 'hello',
    maxTokens: 32,
    temperature: 0.2,
    stop: ['\n\n'],
  });
  const [a] = env.server().attemptsFor(FAULT_MODELS.ok);
  assert.equal(a?.path, '/v1/chat/completions');
  assert.equal(a?.headers.authorization, `Bearer ${TEST_KEY}`);
  assert.deepEqual(a?.body, {
    model: FAULT_MODELS.ok,
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: 32,
    temperature: 0.2,
    stop: ['\n\n'],
    messages: [{ role: 'user', content: 'hello' }],
  });
});

const fimProvider = (model: string) =>
  createCloudProvider(
    {
      id: 'oai',
      type: 'openai-compatible',
      baseUrl: `${env.server().url}/v1`,
      modelInfo: { [model]: { capabilities: ['chat', 'fim'] } },
    },
    { getApiKey: () => undefined },
  );

test('openai: a suffix (FIM) on a model marked fim goes to /completions with prompt and suffix', async () => {
  const r = await env.run(fimProvider(FAULT_MODELS.ok), {
    model: FAULT_MODELS.ok,
    prompt: 'function add(',
    suffix: ') {}',
  });
  assert.equal(r.text, FIXED_ANSWER);
  const [a] = env.server().attemptsFor(FAULT_MODELS.ok);
  assert.equal(a?.path, '/v1/completions');
  assert.equal(a?.body.prompt, 'function add(');
  assert.equal(a?.body.suffix, ') {}');
});

test('openai: a suffix on a chat model is asked in chat form for the text between prefix and suffix', async () => {
  const r = await env.run(env.provider(), { model: FAULT_MODELS.ok, prompt: 'function add(', suffix: ') {}' });
  assert.equal(r.text, FIXED_ANSWER);
  const [a] = env.server().attemptsFor(FAULT_MODELS.ok);
  assert.equal(a?.path, '/v1/chat/completions');
  const messages = a?.body.messages as { role: string; content: string }[];
  assert.equal(messages[0]?.role, 'system');
  assert.match(messages[1]?.content ?? '', /function add\([\s\S]*\) \{\}/);
});

test('openai: /completions answering 404 (chat-only server) is not a failure: the same model answers in chat form', async () => {
  const p = fimProvider(FAULT_MODELS.chatOnly);
  const r = await env.run(p, { model: FAULT_MODELS.chatOnly, prompt: 'let x = ', suffix: ';' });
  assert.equal(r.text, FIXED_ANSWER);
  assert.deepEqual(
    env
      .server()
      .attemptsFor(FAULT_MODELS.chatOnly)
      .map((a) => [a.path, a.action]),
    [
      ['/v1/completions', '404'],
      ['/v1/chat/completions', 'ok'],
    ],
  );
  // Remembered: the next editor completion goes to chat at once.
  await env.run(p, { model: FAULT_MODELS.chatOnly, prompt: 'let y = ', suffix: ';' });
  assert.equal(env.server().attemptsFor(FAULT_MODELS.chatOnly).at(-1)?.path, '/v1/chat/completions');
  assert.equal(env.server().attemptsFor(FAULT_MODELS.chatOnly).length, 3);
});

test('openai: a model configured as completion-only uses /completions for plain prompts', async () => {
  const p = createCloudProvider(
    {
      id: 'oai',
      type: 'openai-compatible',
      baseUrl: `${env.server().url}/v1`,
      modelInfo: { [FAULT_MODELS.ok]: { capabilities: ['completion', 'code'] } },
    },
    { getApiKey: () => undefined },
  );
  assert.equal((await env.run(p, { model: FAULT_MODELS.ok, prompt: 'x' })).text, FIXED_ANSWER);
  const [a] = env.server().attemptsFor(FAULT_MODELS.ok);
  assert.equal(a?.path, '/v1/completions');
  assert.equal(a?.headers.authorization, undefined, 'no key: no Authorization header (LM Studio, vLLM)');
});

noKeyInErrors(env);
