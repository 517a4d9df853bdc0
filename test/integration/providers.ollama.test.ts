// Ollama native provider against the fault server: the shared contract plus NDJSON specifics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_MODELS, FIXED_ANSWER } from '../fixtures/faultServer';
import { createCloudProvider } from '../../server/providers/cloud';
import { TEST_KEY, noKeyInErrors, providerContract } from './providers.contract';
import { JSON_ANSWER, JSON_ANSWER_MODEL } from '../fixtures/faultTools';
import {
  GENERATED_ID,
  IMAGE_BYTES,
  IMAGE_DATA_URL,
  LOOKUP_TOOL,
  QUESTION,
  TOOL_RESULT,
  generate,
  toolRoundTrip,
} from './providers.agent';

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

for (const stream of [true, false])
  test(`ollama: tool-call round trip (${stream ? 'streamed' : 'not streamed'}) — tools, tool_calls and tool turns`, async () => {
    await toolRoundTrip(env.provider(), stream, GENERATED_ID);
    const [a1, a2] = env.server().attemptsFor(FAULT_MODELS.toolCaller);
    assert.equal(a1?.path, '/api/chat');
    assert.equal(a1?.body.stream, stream);
    assert.deepEqual(a1?.body.tools, [
      {
        type: 'function',
        function: { name: 'lookup', description: 'Look a word up', parameters: LOOKUP_TOOL.parameters },
      },
    ]);
    assert.deepEqual(a2?.body.messages, [
      { role: 'user', content: QUESTION.content },
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'lookup', arguments: { q: 'fault' } } }] },
      { role: 'tool', content: TOOL_RESULT, tool_name: 'lookup' },
    ]);
  });

test('ollama: toolChoice — "none" sends no tools, a named tool sends only that one', async () => {
  const tools = [LOOKUP_TOOL, { name: 'define' }];
  const base = { model: FAULT_MODELS.toolCaller, messages: [QUESTION], tools };
  await generate(env.provider(), { ...base, toolChoice: 'none' });
  await generate(env.provider(), { ...base, toolChoice: { name: 'define' } });
  const [none, named] = env.server().attemptsFor(FAULT_MODELS.toolCaller);
  assert.equal(none?.body.tools, undefined);
  assert.deepEqual(named?.body.tools, [
    { type: 'function', function: { name: 'define', parameters: { type: 'object', properties: {} } } },
  ]);
});

test('ollama: an image data URL reaches the API as base64 bytes in `images`; an https URL is unsupported', async () => {
  await env.run(env.provider(), {
    model: FAULT_MODELS.ok,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image', url: IMAGE_DATA_URL },
        ],
      },
    ],
  });
  const [m] = env.server().attemptsFor(FAULT_MODELS.ok)[0]?.body.messages as {
    role: string;
    content: string;
    images: string[];
  }[];
  assert.equal(m?.role, 'user');
  assert.equal(m?.content, 'what is this?');
  assert.equal(m?.images.length, 1);
  assert.ok(Buffer.from(m?.images[0] ?? '', 'base64').equals(IMAGE_BYTES), 'the bytes arrived unchanged');

  const e = await env.fails(
    env.provider(),
    {
      model: FAULT_MODELS.ok,
      messages: [{ role: 'user', content: [{ type: 'image', url: 'https://example.com/cat.png' }] }],
    },
    'unsupported',
  );
  assert.match(e.message, /Ollama takes images as data URLs/);
  assert.equal(env.server().attempts.length, 1, 'no call for the https image');
});

test('ollama: response_format → format ("json" or the schema); sampling fields in options; stream false', async () => {
  const schema = { type: 'object', properties: { answer: { type: 'string' } } };
  const r = await env.run(env.provider(), {
    model: JSON_ANSWER_MODEL,
    messages: [QUESTION],
    responseFormat: { type: 'json_schema', name: 'answer', schema },
    topP: 0.9,
    seed: 7,
    presencePenalty: 0.5,
    frequencyPenalty: -0.5,
    maxTokens: 64,
    stream: false,
  });
  assert.equal(r.text, JSON_ANSWER);
  await env.run(env.provider(), {
    model: JSON_ANSWER_MODEL,
    prompt: 'json please',
    responseFormat: { type: 'json_object' },
  });
  const [a1, a2] = env.server().attemptsFor(JSON_ANSWER_MODEL);
  assert.equal(a1?.body.stream, false);
  assert.equal(a1?.action, 'whole');
  assert.deepEqual(a1?.body.format, schema);
  assert.deepEqual(a1?.body.options, {
    num_predict: 64,
    top_p: 0.9,
    seed: 7,
    presence_penalty: 0.5,
    frequency_penalty: -0.5,
  });
  assert.equal(a2?.body.format, 'json');
  assert.equal(a2?.body.stream, true);
});

test('ollama: a suffix on a model without fill-in-the-middle (config) goes to /api/chat in chat form', async () => {
  const p = createCloudProvider(
    {
      id: 'oll',
      type: 'ollama',
      baseUrl: env.server().url,
      modelInfo: { [FAULT_MODELS.ok]: { capabilities: ['chat', 'tools'] } },
    },
    { getApiKey: () => undefined },
  );
  const deltas: string[] = [];
  const r = await env.run(
    p,
    { model: FAULT_MODELS.ok, prompt: 'def f(', suffix: '):' },
    { onDelta: (d) => deltas.push(d) },
  );
  assert.ok(r.text.length > 0);
  assert.deepEqual(deltas, [r.text]);
  const [a] = env.server().attemptsFor(FAULT_MODELS.ok);
  assert.equal(a?.path, '/api/chat');
  const messages = a?.body.messages as { role: string; content: string }[];
  assert.equal(messages[0]?.role, 'system');
  assert.match(messages[1]?.content ?? '', /def f\([\s\S]*\):/);
});

noKeyInErrors(env);
