// The chain as a VS Code language model, driven the way any extension would: vscode.lm.selectChatModels
// and sendRequest, against the daemon and the scripted cloud "fake" (issue 16).
import * as assert from 'node:assert/strict';
import { test } from 'mocha';
import * as vscode from 'vscode';
import { methods } from '../../protocol';
import { ok, useChain, type Env } from './env';
import { FAKE_TEXT } from './fakeCloud';
import { nextEvent, waitFor } from './waitFor';

const VENDOR = 'backstop';
const TOOL: vscode.LanguageModelChatTool = {
  name: 'get_weather',
  description: 'The weather in a city',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

/** The Backstop models once `check` holds for them (VS Code re-asks the provider after a change event). */
async function modelsWhen(
  what: string,
  check: (models: vscode.LanguageModelChat[]) => boolean,
): Promise<vscode.LanguageModelChat[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const changed = nextEvent(`chat models changed (${what})`, vscode.lm.onDidChangeChatModels, () => true, 5_000);
    changed.catch(() => undefined);
    const models = await vscode.lm.selectChatModels({ vendor: VENDOR });
    if (check(models)) return models;
    if (Date.now() > deadline)
      assert.fail(`${what}: ${JSON.stringify(models.map((m) => ({ id: m.id, name: m.name })))}`);
    await changed.catch(() => undefined);
  }
}

async function chainModel(): Promise<vscode.LanguageModelChat> {
  const [m] = await vscode.lm.selectChatModels({ vendor: VENDOR, id: 'backstop' });
  assert.ok(m, 'the "Backstop" model (the configured chain) is offered');
  return m;
}

/** Every part of a response, in order. */
async function collect(response: vscode.LanguageModelChatResponse): Promise<unknown[]> {
  const parts: unknown[] = [];
  for await (const p of response.stream) parts.push(p);
  return parts;
}

const textOf = (parts: unknown[]): string =>
  parts
    .filter((p): p is vscode.LanguageModelTextPart => p instanceof vscode.LanguageModelTextPart)
    .map((p) => p.value)
    .join('');

export function registerLmTests(env: Env): void {
  test('vscode.lm lists Backstop (the chain) and each ready model, with what the chain can serve', async () => {
    await useChain(env, ['fake/ok']);
    const models = await modelsWhen('Backstop and fake/ok listed', (ms) =>
      ['backstop', 'fake/ok'].every((id) => ms.some((m) => m.id === id)),
    );
    const chain = models.find((m) => m.id === 'backstop')!;
    assert.equal(chain.name, 'Backstop');
    assert.equal(chain.vendor, VENDOR);
    assert.equal(chain.family, 'backstop');
    assert.ok(chain.maxInputTokens > 0);
    const caps = (m: vscode.LanguageModelChat): { supportsToolCalling?: boolean; supportsImageToText?: boolean } => {
      const c = (m as unknown as { capabilities?: { supportsToolCalling?: boolean; supportsImageToText?: boolean } })
        .capabilities;
      assert.ok(c, `this build shows a model's capabilities to extensions (${m.id})`);
      return c;
    };
    assert.equal(caps(chain).supportsToolCalling, true, 'fake/ok takes tools');
    assert.equal(caps(chain).supportsImageToText, true, 'fake/ok takes images');
    // Each ready model on its own, with its own capabilities.
    const infos = (await ok(env.api.request(methods.models, {}))).models;
    for (const info of infos.filter((i) => i.availability === 'ready')) {
      const m = models.find((x) => x.id === info.id);
      assert.ok(m, `${info.id} is offered on its own`);
      assert.equal(caps(m).supportsToolCalling, info.capabilities.includes('tools'), info.id);
      assert.equal(caps(m).supportsImageToText, info.capabilities.includes('vision'), info.id);
    }
    assert.ok(!models.some((m) => infos.find((i) => i.id === m.id && i.availability !== 'ready')), 'ready ones only');
    // A chain of models without tools says so.
    const noTools = infos.find((i) => i.availability === 'ready' && !i.capabilities.includes('tools'));
    if (noTools) {
      await useChain(env, [noTools.id]);
      await modelsWhen(`Backstop without tools (${noTools.id})`, (ms) =>
        ms.some((m) => m.id === 'backstop' && caps(m).supportsToolCalling === false),
      );
    }
    // Counted by the chain's first model's own tokenizer when it is a local GGUF, else estimated (chars / 4).
    const counted = await ok(env.api.request(methods.countTokens, { texts: ['12345678'] }));
    const vscodeCount = await chain.countTokens('12345678');
    assert.equal(vscodeCount, counted.counts[0], `the daemon's count (${counted.exact ? 'tokenizer' : 'estimate'})`);
    if (!counted.exact) assert.equal(vscodeCount, 2, 'the documented estimate: characters / 4');
  });

  test('a named chain is offered as "Backstop: <name>" and answers through that chain', async () => {
    env.fake.behave('ok', { kind: 'ok', text: 'named chain answer' });
    await ok(env.api.request(methods.setConfig, { chains: { quick: ['fake/ok'] } }));
    // A chain change makes the provider look at the configuration again (setConfig has no notification).
    await useChain(env, ['fake/ok', 'fake/deny']);
    const models = await modelsWhen('chain:quick listed', (ms) => ms.some((m) => m.id === 'chain:quick'));
    const quick = models.find((m) => m.id === 'chain:quick')!;
    assert.equal(quick.name, 'Backstop: quick');
    const response = await quick.sendRequest([vscode.LanguageModelChatMessage.User('hi')]);
    assert.equal(textOf(await collect(response)), 'named chain answer');
    env.fake.behave('ok', { kind: 'ok' });
  });

  test("sendRequest streams the chain's answer as text parts", async () => {
    env.fake.behave('ok', { kind: 'ok', text: 'Hello from the chain' });
    await useChain(env, ['fake/ok']);
    const model = await chainModel();
    const before = env.fake.calls('ok').length;
    const response = await model.sendRequest([vscode.LanguageModelChatMessage.User('hi')]);
    assert.equal(textOf(await collect(response)), 'Hello from the chain');
    const sent = env.fake.calls('ok').slice(before).at(-1);
    assert.deepEqual(sent?.body.messages, [{ role: 'user', content: 'hi' }]);
    env.fake.behave('ok', { kind: 'ok' });
  });

  test('a request with a tool gets a LanguageModelToolCallPart; the tool result brings the final text', async () => {
    env.fake.behave('slow', { kind: 'tool', tool: TOOL.name, arguments: '{"city":"Paris"}', text: 'The weather:' });
    await useChain(env, ['fake/slow']);
    const model = await chainModel();
    const ask = vscode.LanguageModelChatMessage.User('What is the weather in Paris?');
    const first = await collect(await model.sendRequest([ask], { tools: [TOOL] }));
    const calls = first.filter(
      (p): p is vscode.LanguageModelToolCallPart => p instanceof vscode.LanguageModelToolCallPart,
    );
    assert.equal(calls.length, 1, JSON.stringify(first));
    const call = calls[0]!;
    assert.equal(call.name, TOOL.name);
    assert.deepEqual(call.input, { city: 'Paris' });
    const sentTools = env.fake.calls('slow').at(-1)?.body.tools as { function: { name: string } }[] | undefined;
    assert.equal(sentTools?.[0]?.function.name, TOOL.name, 'the tool reached the model');

    const second = await model.sendRequest(
      [
        ask,
        vscode.LanguageModelChatMessage.Assistant([call]),
        vscode.LanguageModelChatMessage.User([
          new vscode.LanguageModelToolResultPart(call.callId, [new vscode.LanguageModelTextPart('sunny, 21 °C')]),
        ]),
      ],
      { tools: [TOOL] },
    );
    assert.equal(textOf(await collect(second)), 'The weather: sunny, 21 °C');
    const sent = env.fake.calls('slow').at(-1)?.body.messages as Record<string, unknown>[];
    assert.deepEqual(
      sent.map((m) => m.role),
      ['user', 'assistant', 'tool'],
    );
    assert.equal(sent[2]?.tool_call_id, call.callId);
  });

  test('the primary fails and the fallback answers inside the same response', async () => {
    env.fake.behave('deny', { kind: 'deny' });
    env.fake.behave('ok', { kind: 'ok' });
    await useChain(env, ['fake/deny', 'fake/ok']);
    const model = await chainModel();
    const fallback = nextEvent('fallback fake/deny → fake/ok', env.api.onFallback, (f) => f.from === 'fake/deny');
    const response = await model.sendRequest([vscode.LanguageModelChatMessage.User('hello')]);
    assert.equal(textOf(await collect(response)), FAKE_TEXT, 'only the answer, no word of the fallback in it');
    assert.equal((await fallback).to, 'fake/ok');
  });

  test('a chain that cannot answer fails with a LanguageModelError a person can act on', async () => {
    await useChain(env, ['fake/deny']);
    const model = await chainModel();
    const run = async (): Promise<unknown[]> =>
      collect(await model.sendRequest([vscode.LanguageModelChatMessage.User('hello')]));
    await assert.rejects(run, (e: unknown) => {
      assert.match(e instanceof Error ? e.message : String(e), /Backstop: .*(chain|daemon)/);
      return true;
    });
  });

  test('an image reaches the model as a data URL image part', async () => {
    env.fake.behave('ok', { kind: 'ok' });
    await useChain(env, ['fake/ok']);
    const model = await chainModel();
    // LanguageModelDataPart is newer than the @types/vscode this builds against (^1.104).
    const DataPart = (
      vscode as unknown as { LanguageModelDataPart?: { image(data: Uint8Array, mime: string): unknown } }
    ).LanguageModelDataPart;
    assert.ok(DataPart, 'this build has LanguageModelDataPart');
    // A real 1×1 PNG: the workbench decodes (and may resize) images before they reach a provider.
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
      'base64',
    );
    const message = vscode.LanguageModelChatMessage.User([
      new vscode.LanguageModelTextPart('What is this?'),
      DataPart.image(new Uint8Array(png), 'image/png') as vscode.LanguageModelTextPart,
    ]);
    assert.equal(textOf(await collect(await model.sendRequest([message]))), FAKE_TEXT);
    const sent = env.fake.calls('ok').at(-1)?.body.messages as { content: unknown }[];
    const content = sent[0]?.content as { type: string; text?: string; image_url?: { url: string } }[];
    assert.ok(Array.isArray(content), JSON.stringify(sent));
    assert.deepEqual(content[0], { type: 'text', text: 'What is this?' });
    assert.equal(content[1]?.type, 'image_url');
    assert.match(content[1]?.image_url?.url ?? '', /^data:image\/[a-z]+;base64,[A-Za-z0-9+/]+=*$/);
  });

  test('a model that fails after it started answering stops the response with an error, not a spliced answer', async () => {
    env.fake.behave('slow', { kind: 'cut', text: 'The first half of' });
    env.fake.behave('ok', { kind: 'ok' });
    await useChain(env, ['fake/slow', 'fake/ok']);
    const model = await chainModel();
    const parts: unknown[] = [];
    await assert.rejects(
      async () => {
        for await (const p of (await model.sendRequest([vscode.LanguageModelChatMessage.User('go')])).stream)
          parts.push(p);
      },
      (e: unknown) => {
        assert.match(e instanceof Error ? e.message : String(e), /failed part-way.*Send it again/s);
        return true;
      },
    );
    assert.ok(!textOf(parts).includes(FAKE_TEXT), `the fallback's answer is not appended: ${textOf(parts)}`);
    env.fake.behave('slow', { kind: 'ok' });
  });

  test('cancelling the token aborts the upstream request', async () => {
    env.fake.behave('slow', { kind: 'hang' });
    await useChain(env, ['fake/slow']);
    const model = await chainModel();
    const cts = new vscode.CancellationTokenSource();
    const before = env.fake.calls('slow').length;
    const aborted = nextEvent('the fake server sees the disconnect', env.fake.onAbort, (r) => r.model === 'slow');
    const response = model.sendRequest([vscode.LanguageModelChatMessage.User('take your time')], {}, cts.token);
    await waitFor('the request reached the model', [env.fake.onRequest], () => env.fake.calls('slow').length > before);
    cts.cancel();
    await aborted;
    // The response ends (or rejects as cancelled) instead of waiting for the model.
    await Promise.resolve(response)
      .then((r) => collect(r))
      .catch(() => undefined);
    cts.dispose();
    env.fake.behave('slow', { kind: 'ok' });
  });
}
