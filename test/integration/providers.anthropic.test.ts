// Anthropic Messages provider against the fault server: the shared contract plus its headers and body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_MODELS } from '../fixtures/faultServer';
import { createCloudProvider } from '../../server/providers/cloud';
import { TEST_KEY, noKeyInErrors, providerContract } from './providers.contract';
import { JSON_ANSWER_MODEL } from '../fixtures/faultTools';
import {
  IMAGE_BYTES,
  IMAGE_DATA_URL,
  LOOKUP_TOOL,
  QUESTION,
  TOOL_RESULT,
  generate,
  toolRoundTrip,
} from './providers.agent';

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

for (const stream of [true, false])
  test(`anthropic: tool-call round trip (${stream ? 'streamed' : 'not streamed'}) — tools, tool_use and tool_result translated`, async () => {
    const { first } = await toolRoundTrip(env.provider(), stream, 'toolu_fault_1');
    if (stream) assert.ok(first.toolDeltas.length > 2, 'the arguments arrived in pieces');
    const [a1, a2] = env.server().attemptsFor(FAULT_MODELS.toolCaller);
    assert.equal(a1?.stream, stream);
    assert.equal(a1?.headers.accept, stream ? 'text/event-stream' : 'application/json');
    assert.deepEqual(a1?.body.tools, [
      { name: 'lookup', description: 'Look a word up', input_schema: LOOKUP_TOOL.parameters },
    ]);
    assert.equal(a1?.body.tool_choice, undefined);
    assert.deepEqual(a2?.body.messages, [
      { role: 'user', content: QUESTION.content },
      {
        role: 'assistant',
        content: [{ type: 'tool_use', id: 'toolu_fault_1', name: 'lookup', input: { q: 'fault' } }],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_fault_1', content: TOOL_RESULT }] },
    ]);
  });

test('anthropic: consecutive tool results share one user turn; tool_choice, top_p and parallel calls mapped', async () => {
  const calls = [
    { id: 'toolu_a', name: 'lookup', arguments: '{"q":"a"}' },
    { id: 'toolu_b', name: 'lookup', arguments: '' },
  ];
  for (const choice of ['auto', 'required', 'none', { name: 'lookup' }] as const)
    await generate(env.provider(), {
      model: FAULT_MODELS.toolCaller,
      messages: [
        { role: 'system', content: 'use tools' },
        QUESTION,
        { role: 'assistant', content: 'Looking both up.', toolCalls: calls },
        { role: 'tool', toolCallId: 'toolu_a', content: 'A' },
        { role: 'tool', toolCallId: 'toolu_b', content: 'B' },
        { role: 'user', content: 'and now?' },
      ],
      tools: [LOOKUP_TOOL, { name: 'noop' }],
      toolChoice: choice,
      parallelToolCalls: false,
      topP: 0.5,
      temperature: 0.2,
    });
  const attempts = env.server().attemptsFor(FAULT_MODELS.toolCaller);
  assert.deepEqual(
    attempts.map((a) => a.body.tool_choice),
    [
      { type: 'auto', disable_parallel_tool_use: true },
      { type: 'any', disable_parallel_tool_use: true },
      { type: 'none' },
      { type: 'tool', name: 'lookup', disable_parallel_tool_use: true },
    ],
  );
  const body = attempts[0]?.body ?? {};
  assert.equal(body.system, 'use tools');
  assert.equal(body.top_p, 0.5);
  assert.equal(body.temperature, 0.2);
  assert.deepEqual((body.tools as unknown[])[1], { name: 'noop', input_schema: { type: 'object', properties: {} } });
  assert.deepEqual(body.messages, [
    { role: 'user', content: QUESTION.content },
    {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Looking both up.' },
        { type: 'tool_use', id: 'toolu_a', name: 'lookup', input: { q: 'a' } },
        { type: 'tool_use', id: 'toolu_b', name: 'lookup', input: {} },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_a', content: 'A' },
        { type: 'tool_result', tool_use_id: 'toolu_b', content: 'B' },
        { type: 'text', text: 'and now?' },
      ],
    },
  ]);
});

test('anthropic: tool-call arguments that are not a JSON object are refused before the call', async () => {
  const e = await env.fails(
    env.provider(),
    {
      model: FAULT_MODELS.toolCaller,
      messages: [
        QUESTION,
        { role: 'assistant', content: '', toolCalls: [{ id: 't1', name: 'lookup', arguments: '{oops' }] },
      ],
    },
    'bad_request',
  );
  assert.match(e.message, /not JSON/);
  assert.equal(env.server().attempts.length, 0);
});

test('anthropic: image parts — a data URL reaches the API as base64 bytes, an https URL as a url source', async () => {
  await env.run(env.provider(), {
    model: FAULT_MODELS.ok,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image', url: IMAGE_DATA_URL },
          { type: 'image', url: 'https://example.com/cat.jpg' },
        ],
      },
    ],
  });
  const content = (env.server().attemptsFor(FAULT_MODELS.ok)[0]?.body.messages as { content: unknown[] }[])[0]
    ?.content as Record<string, Record<string, string>>[];
  assert.deepEqual(content[0], { type: 'text', text: 'what is this?' });
  assert.equal(content[1]?.type, 'image');
  assert.equal(content[1]?.source?.type, 'base64');
  assert.equal(content[1]?.source?.media_type, 'image/png');
  assert.ok(Buffer.from(content[1]?.source?.data ?? '', 'base64').equals(IMAGE_BYTES), 'the bytes arrived unchanged');
  assert.deepEqual(content[2], { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } });
});

test('anthropic: structured output is refused as unsupported before any HTTP call', async () => {
  for (const responseFormat of [
    { type: 'json_object' },
    { type: 'json_schema', name: 'answer', schema: { type: 'object' } },
  ] as const) {
    const e = await env.fails(
      env.provider(),
      { model: JSON_ANSWER_MODEL, messages: [QUESTION], responseFormat },
      'unsupported',
    );
    assert.match(e.message, /lacks structured output/);
  }
  assert.equal(env.server().attempts.length, 0);
  // A plain-text response format is no structured output: it goes through.
  await env.run(env.provider(), { model: FAULT_MODELS.ok, prompt: 'hi', responseFormat: { type: 'text' } });
});

test('anthropic: a suffix (editor completion) is asked in chat form and answered in one cleaned piece', async () => {
  const deltas: string[] = [];
  const r = await env.run(
    env.provider(),
    { model: FAULT_MODELS.ok, prompt: 'function add(', suffix: ') {}' },
    { onDelta: (d) => deltas.push(d) },
  );
  assert.ok(r.text.length > 0);
  assert.deepEqual(deltas, [r.text]);
  const [a] = env.server().attemptsFor(FAULT_MODELS.ok);
  assert.equal(a?.path, '/v1/messages');
  assert.match(String(a?.body.system), /exactly the text to insert/);
  const messages = a?.body.messages as { role: string; content: string }[];
  assert.match(messages[0]?.content ?? '', /function add\([\s\S]*\) \{\}/);
});

noKeyInErrors(env);
