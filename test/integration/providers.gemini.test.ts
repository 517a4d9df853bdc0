// Gemini provider against the fault server: the shared contract plus its URL, header and body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_MODELS } from '../fixtures/faultServer';
import { TEST_KEY, noKeyInErrors, providerContract } from './providers.contract';
import { JSON_ANSWER, JSON_ANSWER_MODEL, faultSignature } from '../fixtures/faultTools';
import { SKIP_SIGNATURE } from '../../server/providers/gemini';
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

for (const stream of [true, false])
  test(`gemini: tool-call round trip (${stream ? 'streamed' : 'not streamed'}) — function declarations, calls and responses`, async () => {
    await toolRoundTrip(env.provider(), stream, GENERATED_ID);
    const [a1, a2] = env.server().attemptsFor(FAULT_MODELS.toolCaller);
    const method = stream ? 'streamGenerateContent' : 'generateContent';
    assert.equal(a1?.path, `/v1beta/models/${FAULT_MODELS.toolCaller}:${method}`);
    assert.equal(a1?.query, stream ? '?alt=sse' : '');
    assert.deepEqual(a1?.body.tools, [
      {
        functionDeclarations: [
          { name: 'lookup', description: 'Look a word up', parametersJsonSchema: LOOKUP_TOOL.parameters },
        ],
      },
    ]);
    assert.equal(a1?.body.toolConfig, undefined);
    assert.deepEqual(a2?.body.contents, [
      { role: 'user', parts: [{ text: QUESTION.content }] },
      {
        role: 'model',
        // the thought signature Gemini sent with the call goes back with it (Gemini 3 refuses a turn without)
        parts: [
          { functionCall: { name: 'lookup', args: { q: 'fault' } }, thoughtSignature: faultSignature('call_fault_1') },
        ],
      },
      { role: 'user', parts: [{ functionResponse: { name: 'lookup', response: { content: TOOL_RESULT } } }] },
    ]);
  });

test('gemini: toolChoice → functionCallingConfig; consecutive tool results share one turn, named by their call', async () => {
  for (const toolChoice of ['auto', 'required', 'none', { name: 'lookup' }] as const)
    await generate(env.provider(), {
      model: FAULT_MODELS.toolCaller,
      messages: [
        QUESTION,
        {
          role: 'assistant',
          content: 'Both.',
          toolCalls: [
            { id: 'c1', name: 'lookup', arguments: '{"q":"a"}' },
            { id: 'c2', name: 'define', arguments: '{"w":"b"}' },
          ],
        },
        { role: 'tool', toolCallId: 'c1', content: 'A' },
        { role: 'tool', toolCallId: 'c2', content: 'B' },
      ],
      tools: [LOOKUP_TOOL, { name: 'define' }],
      toolChoice,
    });
  const attempts = env.server().attemptsFor(FAULT_MODELS.toolCaller);
  assert.deepEqual(
    attempts.map((a) => a.body.toolConfig),
    [
      { functionCallingConfig: { mode: 'AUTO' } },
      { functionCallingConfig: { mode: 'ANY' } },
      { functionCallingConfig: { mode: 'NONE' } },
      { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['lookup'] } },
    ],
  );
  assert.deepEqual((attempts[0]?.body.tools as { functionDeclarations: unknown[] }[])[0]?.functionDeclarations[1], {
    name: 'define',
  });
  assert.deepEqual((attempts[0]?.body.contents as unknown[]).slice(1), [
    {
      role: 'model',
      parts: [
        { text: 'Both.' },
        // calls this daemon never saw (another model's): the first carries Google's validator-skip value
        { functionCall: { name: 'lookup', args: { q: 'a' } }, thoughtSignature: SKIP_SIGNATURE },
        { functionCall: { name: 'define', args: { w: 'b' } } },
      ],
    },
    {
      role: 'user',
      parts: [
        { functionResponse: { name: 'lookup', response: { content: 'A' } } },
        { functionResponse: { name: 'define', response: { content: 'B' } } },
      ],
    },
  ]);
});

test('gemini: a call id reused in a later round names the later call (results resolve to their nearest call)', async () => {
  await generate(env.provider(), {
    model: FAULT_MODELS.toolCaller,
    messages: [
      QUESTION,
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_0', name: 'lookup', arguments: '{}' }] },
      { role: 'tool', toolCallId: 'call_0', content: 'first' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_0', name: 'define', arguments: '{}' }] },
      { role: 'tool', toolCallId: 'call_0', content: 'second' },
    ],
    tools: [LOOKUP_TOOL, { name: 'define' }],
  });
  const contents = env.server().attemptsFor(FAULT_MODELS.toolCaller)[0]?.body.contents as {
    parts: { functionResponse?: { name: string } }[];
  }[];
  assert.deepEqual(
    contents.flatMap((c) => c.parts.flatMap((p) => (p.functionResponse ? [p.functionResponse.name] : []))),
    ['lookup', 'define'],
  );
});

test('gemini: a tool result that answers no earlier call is refused before the call (Gemini needs its name)', async () => {
  await env.fails(
    env.provider(),
    { model: FAULT_MODELS.toolCaller, messages: [QUESTION, { role: 'tool', toolCallId: 'nope', content: 'x' }] },
    'bad_request',
  );
  assert.equal(env.server().attempts.length, 0);
});

test('gemini: image parts — a data URL as inlineData bytes, an https URL as fileData', async () => {
  await env.run(env.provider(), {
    model: FAULT_MODELS.ok,
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image', url: IMAGE_DATA_URL },
          { type: 'image', url: 'https://example.com/cat.webp?size=2' },
        ],
      },
    ],
  });
  const contents = env.server().attemptsFor(FAULT_MODELS.ok)[0]?.body.contents as {
    parts: Record<string, Record<string, string>>[];
  }[];
  const parts = contents[0]?.parts ?? [];
  assert.deepEqual(parts[0], { text: 'what is this?' });
  assert.equal(parts[1]?.inlineData?.mimeType, 'image/png');
  assert.ok(Buffer.from(parts[1]?.inlineData?.data ?? '', 'base64').equals(IMAGE_BYTES), 'the bytes arrived unchanged');
  assert.deepEqual(parts[2], {
    fileData: { fileUri: 'https://example.com/cat.webp?size=2', mimeType: 'image/webp' },
  });
});

test('gemini: response_format → responseMimeType (+ responseJsonSchema); sampling fields in generationConfig', async () => {
  const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
  const r = await env.run(env.provider(), {
    model: JSON_ANSWER_MODEL,
    messages: [QUESTION],
    responseFormat: { type: 'json_schema', name: 'answer', schema },
    topP: 0.9,
    seed: 7,
    presencePenalty: 0.5,
    frequencyPenalty: -0.5,
    stop: ['END'],
    temperature: 0,
  });
  assert.equal(r.text, JSON_ANSWER);
  await env.run(env.provider(), {
    model: JSON_ANSWER_MODEL,
    prompt: 'json please',
    responseFormat: { type: 'json_object' },
  });
  const [a1, a2] = env.server().attemptsFor(JSON_ANSWER_MODEL);
  assert.deepEqual(a1?.body.generationConfig, {
    temperature: 0,
    topP: 0.9,
    seed: 7,
    presencePenalty: 0.5,
    frequencyPenalty: -0.5,
    stopSequences: ['END'],
    responseMimeType: 'application/json',
    responseJsonSchema: schema,
  });
  assert.deepEqual(a2?.body.generationConfig, { responseMimeType: 'application/json' });
});

test('gemini: a suffix (editor completion) is asked in chat form and answered in one cleaned piece', async () => {
  const deltas: string[] = [];
  const r = await env.run(
    env.provider(),
    { model: FAULT_MODELS.ok, prompt: 'function add(', suffix: ') {}' },
    { onDelta: (d) => deltas.push(d) },
  );
  assert.ok(r.text.length > 0);
  assert.deepEqual(deltas, [r.text]);
  const [a] = env.server().attemptsFor(FAULT_MODELS.ok);
  const system = a?.body.systemInstruction as { parts: { text: string }[] };
  assert.match(system.parts[0]?.text ?? '', /exactly the text to insert/);
  const contents = a?.body.contents as { parts: { text: string }[] }[];
  assert.match(contents[0]?.parts[0]?.text ?? '', /function add\([\s\S]*\) \{\}/);
});

noKeyInErrors(env);
