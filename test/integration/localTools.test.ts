// Tool calling and fill-in-the-middle on a local GGUF, for real: a generated chat model (ChatML
// template, FIM tokens, random weights) served by node-llama-cpp in the daemon's worker.
// - tool_choice "required" / a named tool: the call is grammar-forced, so even random weights
//   produce a call whose arguments match the tool's schema;
// - a tool round trip (assistant tool calls + tool results) is accepted and answered;
// - through the gateway with the official `openai` SDK, a tool request whose cloud primary 503s is
//   answered by the local model with a tool call the SDK parses;
// - editor completions use the model's own infill tokens when it has them, chat form on a chat
//   model without them, and a plain completion only on a model with neither.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { methods } from '../../protocol/index';
import type { CompleteResult, Tool } from '../../protocol/types';
import { FAULT_MODELS, type FaultServer, startFaultServer } from '../fixtures/faultServer';
import { ensureFixtureModel, writeGguf, CHATML_TEMPLATE } from '../fixtures/genGguf';
import { spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';
import { type GatewayDaemon, startGatewayDaemon } from '../helpers/gatewayDaemon';

const NO_SCAN = { lmStudio: false, huggingFace: false, nodeLlamaCpp: false, llamaCpp: false };

const weather: Tool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: {
    type: 'object',
    properties: {
      city: { type: 'string', maxLength: 12 },
      days: { type: 'integer' },
      unit: { type: 'string', enum: ['c', 'f'] },
    },
    required: ['city', 'days', 'unit'],
    additionalProperties: false,
  },
};
const time: Tool = {
  name: 'get_time',
  parameters: { type: 'object', properties: { zone: { type: 'string', maxLength: 8 } }, required: ['zone'] },
};

function assertWeatherArgs(args: string): void {
  const v = JSON.parse(args) as Record<string, unknown>;
  assert.deepEqual(Object.keys(v).sort(), ['city', 'days', 'unit'], args);
  assert.equal(typeof v.city, 'string');
  // llama.cpp's JSON grammar writes an integer as digits with an optional exponent
  assert.match(args, /"days"\s*:\s*-?(0|[1-9]\d*)([eE][-+]?\d+)?\s*[,}]/, args);
  assert.ok(v.unit === 'c' || v.unit === 'f', args);
}

async function modelsDir(): Promise<string> {
  const dir = path.join(tmpDir('backstop-localtools-'), 'models');
  fs.mkdirSync(dir);
  fs.copyFileSync(await ensureFixtureModel('chatCoder'), path.join(dir, 'chat-coder.gguf'));
  fs.copyFileSync(await ensureFixtureModel('tiny'), path.join(dir, 'tiny.gguf'));
  // a chat model without FIM tokens
  writeGguf(path.join(dir, 'chat-only.gguf'), { seed: 46, name: 'backstop-chat-only', chatTemplate: CHATML_TEMPLATE });
  return dir;
}

describe('local tool calls and fill-in-the-middle', () => {
  let d: ReturnType<typeof spawnStdio>;
  const complete = (p: Record<string, unknown>) =>
    d.conn.sendRequest<CompleteResult>(methods.complete.method, { maxTokens: 400, temperature: 0, ...p });

  before(async () => {
    const dir = path.dirname(await modelsDir());
    const cfg = writeConfig(dir, {
      providers: [{ id: 'local', type: 'local', modelsDirs: [path.join(dir, 'models')], scan: NO_SCAN, threads: 1 }],
      chain: ['local/chat-coder'],
      maxRetries: 0,
    });
    d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')], { BACKSTOP_LOG_LEVEL: 'debug' });
    for (let i = 0; i < 150; i++) {
      const { models } = await d.conn.sendRequest<{ models: { id: string }[] }>(methods.models.method, {});
      if (['local/chat-coder', 'local/tiny', 'local/chat-only'].every((id) => models.some((m) => m.id === id))) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`models never listed\n${d.stderr()}`);
  });
  after(async () => d.kill());

  it('discovery: a chat-template model can call tools; FIM tokens are seen', async () => {
    const { models } = await d.conn.sendRequest<{ models: { id: string; capabilities: string[] }[] }>(
      methods.models.method,
      {},
    );
    const caps = (id: string) => models.find((m) => m.id === id)?.capabilities ?? [];
    assert.ok(caps('local/chat-coder').includes('tools'), caps('local/chat-coder').join());
    assert.ok(caps('local/chat-coder').includes('fim'));
    assert.ok(!caps('local/tiny').includes('tools'), 'no chat template, no tool calls');
    assert.ok(!caps('local/chat-only').includes('fim'));
  });

  it('tool_choice "required": the local model answers with a call whose arguments match the schema', async () => {
    const r = await complete({
      messages: [{ role: 'user', content: 'What is the weather in Oslo for 3 days?' }],
      tools: [weather],
      toolChoice: 'required',
    });
    assert.equal(r.modelUsed, 'local/chat-coder');
    assert.equal(r.finishReason, 'tool_calls');
    assert.equal(r.toolCalls?.length, 1);
    assert.equal(r.toolCalls[0]?.name, 'get_weather');
    assert.match(r.toolCalls[0]?.id ?? '', /^call_/);
    assertWeatherArgs(r.toolCalls[0]!.arguments);
    assert.equal(r.text, '', 'the forced JSON is a call, not text');
  });

  it('a named tool among several: that tool is called', async () => {
    const r = await complete({
      messages: [{ role: 'user', content: 'time?' }],
      tools: [weather, time],
      toolChoice: { name: 'get_time' },
    });
    assert.equal(r.toolCalls?.[0]?.name, 'get_time');
    const v = JSON.parse(r.toolCalls![0]!.arguments) as { zone: unknown };
    assert.equal(typeof v.zone, 'string');
  });

  it('a round trip: the tool result goes back and the model answers', async () => {
    const first = await complete({
      messages: [{ role: 'user', content: 'Weather in Oslo?' }],
      tools: [weather],
      toolChoice: 'required',
    });
    const call = first.toolCalls![0]!;
    const r = await complete({
      messages: [
        { role: 'user', content: 'Weather in Oslo?' },
        { role: 'assistant', content: '', toolCalls: [call] },
        { role: 'tool', toolCallId: call.id, content: '{"temp": -3, "sky": "snow"}' },
      ],
      tools: [weather],
      toolChoice: 'auto',
      maxTokens: 24,
    });
    assert.equal(r.modelUsed, 'local/chat-coder');
    assert.ok(['stop', 'length', 'tool_calls'].includes(r.finishReason ?? ''), r.finishReason);
    assert.equal(r.attempts.length, 1, JSON.stringify(r.attempts));
    assert.equal(r.attempts[0]?.outcome, 'success');
  });

  it('a tool request on a model with no chat template is skipped as lacking tools', async () => {
    const err = await complete({
      chain: ['local/tiny'],
      messages: [{ role: 'user', content: 'x' }],
      tools: [weather],
      toolChoice: 'required',
    }).then(
      () => assert.fail('answered'),
      (e: { data: { attempts: { message?: string }[] } }) => e,
    );
    assert.match(err.data.attempts[0]?.message ?? '', /lacks tools/);
  });

  it('countTokens: a local model counts with its own tokenizer, exactly as node-llama-cpp does; others estimate', async () => {
    const texts = ['hello world', 'héllo — ünïcode ✓', 'x'.repeat(50), ''];
    const r = await d.conn.sendRequest<{ counts: number[]; exact: boolean; model?: string }>(
      methods.countTokens.method,
      { texts },
    );
    assert.equal(r.exact, true);
    assert.equal(r.model, 'local/chat-coder', "the chain's first model");
    const { getLlama } = await import('node-llama-cpp');
    const llama = await getLlama({ gpu: false, build: 'never' });
    const vocab = await llama.loadModel({ modelPath: await ensureFixtureModel('chatCoder'), vocabOnly: true });
    assert.deepEqual(
      r.counts,
      texts.map((t) => vocab.tokenize(t).length),
    );
    assert.notDeepEqual(
      r.counts,
      texts.map((t) => Math.ceil(t.length / 4)),
      'not the estimate',
    );
    await vocab.dispose();
    const est = await d.conn.sendRequest<{ counts: number[]; exact: boolean }>(methods.countTokens.method, {
      model: 'cloud/none',
      texts: ['12345678'],
    });
    assert.deepEqual(est, { counts: [2], exact: false, model: 'cloud/none' });
  });

  it('editor completion: infill tokens on a FIM model, chat form on a chat model, plain completion otherwise', async () => {
    const mark = d.stderr().length;
    const fim = {
      prompt: 'def add(a, b):\n    return ',
      suffix: '\n\nprint(add(1, 2))\n',
      purpose: 'complete',
      maxTokens: 8,
    };
    const a = await complete({ ...fim, chain: ['local/chat-coder'] });
    const b = await complete({ ...fim, chain: ['local/chat-only'] });
    const c = await complete({ ...fim, chain: ['local/tiny'] });
    assert.deepEqual([a.modelUsed, b.modelUsed, c.modelUsed], ['local/chat-coder', 'local/chat-only', 'local/tiny']);
    const log = d.stderr().slice(mark);
    assert.match(log, /local chat-coder: answered by infill/);
    assert.match(log, /local chat-only: answered by chat/);
    assert.match(log, /local tiny: answered by completion/);
  });
});

describe('gateway: the openai SDK gets a tool call from the local fallback', () => {
  let fault: FaultServer;
  let gw: GatewayDaemon;
  before(async () => {
    fault = await startFaultServer();
    const dir = await modelsDir();
    gw = await startGatewayDaemon({
      providers: [
        { id: 'cloud', type: 'openai-compatible', baseUrl: `${fault.url}/v1` },
        { id: 'local', type: 'local', modelsDirs: [dir], scan: NO_SCAN, threads: 1 },
      ],
      chain: [`cloud/${FAULT_MODELS.error503Always}`, 'local/chat-coder'],
      maxRetries: 0,
    });
  });
  after(async () => {
    await gw?.stop();
    await fault?.close();
  });

  it('streamed and not: tool_choice required → a parsed tool call from local/chat-coder', async () => {
    const client = new OpenAI({ baseURL: `${gw.base}/v1`, apiKey: gw.token, maxRetries: 0 });
    const tools = [
      {
        type: 'function' as const,
        function: { name: weather.name, description: weather.description, parameters: weather.parameters },
      },
    ];
    const messages = [{ role: 'user' as const, content: 'Weather in Oslo?' }];
    const r = await client.chat.completions.create({
      model: 'backstop',
      messages,
      tools,
      tool_choice: 'required',
      max_tokens: 400,
    });
    assert.equal(r.model, 'local/chat-coder');
    assert.equal(r.choices[0]?.finish_reason, 'tool_calls');
    const call = r.choices[0]?.message.tool_calls?.[0];
    assert.equal(call?.type, 'function');
    assert.equal(call?.type === 'function' ? call.function.name : '', 'get_weather');
    assertWeatherArgs(call?.type === 'function' ? call.function.arguments : '');

    const stream = client.chat.completions.stream({
      model: 'backstop',
      messages,
      tools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      max_tokens: 400,
    });
    const done = await stream.finalChatCompletion();
    const streamed = done.choices[0]?.message.tool_calls?.[0];
    assert.equal(streamed?.type === 'function' ? streamed.function.name : '', 'get_weather');
    assertWeatherArgs(streamed?.type === 'function' ? streamed.function.arguments : '');
    assert.equal(
      fault.attemptsFor(FAULT_MODELS.error503Always).length,
      2,
      'the cloud primary was tried first, each time',
    );
  });
});
