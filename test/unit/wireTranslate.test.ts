// The per-format translations of tool calls, tool results and images that the fault server does not
// exercise: Anthropic tool_use blocks after text (index = the block's ordinal), a refusal, a call
// without arguments; Gemini calls in several chunks; Ollama's "does not support insert" fallback.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { isProviderError } from '../../server/core/types';
import type { ToolCallDelta } from '../../protocol/types';
import { anthropicDecoder } from '../../server/providers/anthropic';
import { createCloudProvider } from '../../server/providers/cloud';
import { geminiDecoder } from '../../server/providers/gemini';
import type { ErrorContext } from '../../server/providers/http';
import type { WireDecoder } from '../../server/providers/stream';
import { readGeneration } from '../../server/providers/stream';
import { imageSource, imageTypeOfUrl, toolArguments } from '../../server/providers/translate';

const ec: ErrorContext = { label: 'p/m', authHint: '', secrets: () => [] };

const sse = (type: string, data: Record<string, unknown>): string =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

function read(decoder: WireDecoder, body: string, toolDeltas: ToolCallDelta[] = []) {
  const res = {
    headers: new Headers({ 'content-type': 'text/event-stream' }),
    body: Readable.from([Buffer.from(body)]),
    text: () => Promise.resolve(body),
  };
  return readGeneration(ec, res, AbortSignal.timeout(5000), decoder, { onToolCallDelta: (d) => toolDeltas.push(d) });
}

test('anthropic: tool_use blocks after a text block are numbered by their ordinal; no input JSON → {}', async () => {
  const deltas: ToolCallDelta[] = [];
  const r = await read(
    anthropicDecoder(ec),
    [
      sse('message_start', { message: { usage: { input_tokens: 9, output_tokens: 1 } } }),
      sse('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      sse('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Let me check.' } }),
      sse('content_block_stop', { index: 0 }),
      sse('content_block_start', {
        index: 1,
        content_block: { type: 'tool_use', id: 'toolu_1', name: 'a', input: {} },
      }),
      sse('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '' } }),
      sse('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"x":' } }),
      sse('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '1}' } }),
      sse('content_block_stop', { index: 1 }),
      sse('content_block_start', {
        index: 2,
        content_block: { type: 'tool_use', id: 'toolu_2', name: 'b', input: {} },
      }),
      sse('content_block_stop', { index: 2 }),
      sse('message_delta', { delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 20 } }),
      sse('message_stop', {}),
    ].join(''),
    deltas,
  );
  assert.equal(r.text, 'Let me check.');
  assert.equal(r.finishReason, 'tool_calls');
  assert.deepEqual(r.usage, { promptTokens: 9, completionTokens: 20 });
  assert.deepEqual(r.toolCalls, [
    { id: 'toolu_1', name: 'a', arguments: '{"x":1}' },
    { id: 'toolu_2', name: 'b', arguments: '{}' },
  ]);
  assert.deepEqual(deltas, [
    { index: 0, id: 'toolu_1', name: 'a' },
    { index: 0, arguments: '{"x":' },
    { index: 0, arguments: '1}' },
    { index: 1, id: 'toolu_2', name: 'b' },
    { index: 1, arguments: '{}' },
  ]);
});

test('anthropic: stop_reason "refusal" is content_filter, streamed and whole', async () => {
  const e = await read(
    anthropicDecoder(ec),
    [
      sse('message_start', { message: { usage: { input_tokens: 9 } } }),
      sse('message_delta', { delta: { stop_reason: 'refusal' }, usage: { output_tokens: 0 } }),
      sse('message_stop', {}),
    ].join(''),
  ).then(
    () => assert.fail('resolved'),
    (err: unknown) => err,
  );
  assert.ok(isProviderError(e) && e.kind === 'content_filter', String(e));
  assert.throws(
    () => anthropicDecoder(ec).whole({ type: 'message', content: [], stop_reason: 'refusal' }),
    (err: unknown) => isProviderError(err) && err.kind === 'content_filter',
  );
});

test('anthropic: a whole message with text and tool_use blocks', () => {
  const w = anthropicDecoder(ec).whole({
    type: 'message',
    content: [
      { type: 'text', text: 'On it.' },
      { type: 'tool_use', id: 'toolu_9', name: 'lookup', input: { q: 'x' } },
    ],
    stop_reason: 'tool_use',
    usage: { input_tokens: 3, output_tokens: 4 },
  });
  assert.deepEqual(w, {
    text: 'On it.',
    finishReason: 'tool_calls',
    usage: { promptTokens: 3, completionTokens: 4 },
    toolCalls: [{ id: 'toolu_9', name: 'lookup', arguments: '{"q":"x"}' }],
  });
});

test('gemini: function calls in separate chunks are numbered across the stream; STOP becomes tool_calls', async () => {
  const chunk = (parts: unknown[], finish?: string) =>
    `data: ${JSON.stringify({
      candidates: [{ content: { role: 'model', parts }, ...(finish ? { finishReason: finish } : {}) }],
      usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 2 },
    })}\r\n\r\n`;
  const r = await read(
    geminiDecoder(ec),
    [
      chunk([{ functionCall: { name: 'a', args: { x: 1 } }, thoughtSignature: 'sig' }]),
      chunk([{ functionCall: { name: 'b' } }], 'STOP'),
    ].join(''),
  );
  assert.equal(r.finishReason, 'tool_calls');
  assert.deepEqual(
    r.toolCalls?.map((c) => [c.name, c.arguments]),
    [
      ['a', '{"x":1}'],
      ['b', '{}'],
    ],
  );
  assert.match(r.toolCalls?.[0]?.id ?? '', /^call_0_[0-9a-f]{12}$/);
  assert.match(r.toolCalls?.[1]?.id ?? '', /^call_1_[0-9a-f]{12}$/);
});

test('tool-call arguments: empty is {}, a JSON object passes, anything else is bad_request', () => {
  const call = (args: string) => ({ id: 'c', name: 'n', arguments: args });
  assert.deepEqual(toolArguments(ec, call('')), {});
  assert.deepEqual(toolArguments(ec, call('{"a":[1]}')), { a: [1] });
  for (const bad of ['{', '[1]', '"s"', 'null'])
    assert.throws(
      () => toolArguments(ec, call(bad)),
      (e: unknown) => isProviderError(e) && e.kind === 'bad_request',
    );
});

test('images: data URLs as bytes, other URLs as links; media types from the extension', () => {
  assert.deepEqual(imageSource('data:image/webp;base64,AAEC'), {
    kind: 'data',
    mediaType: 'image/webp',
    base64: 'AAEC',
  });
  assert.deepEqual(imageSource('https://x.test/a.png'), { kind: 'url', url: 'https://x.test/a.png' });
  assert.equal(imageTypeOfUrl('https://x.test/a.PNG?v=1'), 'image/png');
  assert.equal(imageTypeOfUrl('https://x.test/photo'), 'image/jpeg');
});

test('ollama: "does not support insert" once → the same model in chat form, remembered', async () => {
  const seen: { path: string; body: Record<string, unknown> }[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', body: JSON.parse(raw) as Record<string, unknown> });
      if (req.url === '/api/generate') {
        res.writeHead(400, { 'content-type': 'application/json' });
        return void res.end(
          JSON.stringify({ error: 'registry.ollama.ai/library/llama3:latest does not support insert' }),
        );
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end(
        `${JSON.stringify({ message: { role: 'assistant', content: '```py\nx + 1\n```' }, done: false })}\n` +
          `${JSON.stringify({ message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', prompt_eval_count: 3, eval_count: 4 })}\n`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const p = createCloudProvider({ id: 'oll', type: 'ollama', baseUrl: url }, { getApiKey: () => undefined });
    const deltas: string[] = [];
    const req = { model: 'llama3', prompt: 'y = ', suffix: '\n' };
    const r = await p.generate(req, { signal: AbortSignal.timeout(5000), onDelta: (d) => deltas.push(d) });
    assert.equal(r.text, 'x + 1');
    assert.deepEqual(deltas, ['x + 1']);
    assert.deepEqual(
      seen.map((s) => s.path),
      ['/api/generate', '/api/chat'],
    );
    await p.generate(req, { signal: AbortSignal.timeout(5000) });
    assert.equal(seen.at(-1)?.path, '/api/chat', 'remembered: straight to chat');
    assert.equal(seen.length, 3);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
