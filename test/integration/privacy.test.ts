// The local-only privacy guard through the built daemon, entry point by entry point: JSON-RPC over
// stdio, WebSocket and HTTP /rpc, the CLI, and the gateway's OpenAI and Anthropic endpoints (streamed
// and not). A chain [cloud, local] with the guard on must answer from the local model while the
// fault server (the "cloud") receives not one generation request; a cloud-only chain must fail with
// the guard's own error. A control request without the guard proves the cloud was reachable.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { methods } from '../../protocol/index';
import type { Attempt, CompleteResult } from '../../protocol/types';
import { ensureFixtureModel } from '../fixtures/genGguf';
import { startFaultServer, type FaultServer } from '../fixtures/faultServer';
import {
  runCli,
  spawnCli,
  spawnStdio,
  tmpDir,
  waitForDaemonFile,
  writeConfig,
  WsClient,
  type DaemonInfo,
  type Spawned,
} from '../helpers/daemon';

const NO_SCAN = { lmStudio: false, huggingFace: false, nodeLlamaCpp: false, llamaCpp: false };
const PRIVACY_SKIP = 'privacy: local only';
/** A marker in every guarded prompt: it must never appear in anything the cloud received. */
const SECRET = 'sk-PRIVATE-0123456789';
const KEY_ENV = 'BACKSTOP_TEST_PRIVACY_KEY';
const ENV = { [KEY_ENV]: 'test-key' };

let fault: FaultServer;
let modelsDir: string;

function config(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    providers: [
      { id: 'cloud', type: 'openai-compatible', baseUrl: `${fault.url}/v1`, models: ['ok'] },
      { id: 'claude', type: 'anthropic', baseUrl: fault.url, models: ['ok'], apiKeyEnv: KEY_ENV },
      { id: 'local', type: 'local', modelsDirs: [modelsDir], scan: NO_SCAN, threads: 1 },
    ],
    chain: ['cloud/ok', 'claude/ok', 'local/tiny'],
    maxRetries: 0,
    ...extra,
  };
}

/** What the cloud received beyond model listings (generation requests, any method but GET). */
function cloudTraffic(): string[] {
  return fault.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
}

function assertNothingReachedCloud(label: string): void {
  assert.deepEqual(cloudTraffic(), [], `${label}: the cloud received requests`);
  assert.equal(fault.attempts.length, 0, `${label}: the cloud received a generation request`);
  assert.ok(!JSON.stringify(fault.attempts).includes(SECRET), `${label}: the secret reached the cloud`);
}

function assertLocalAnswer(r: CompleteResult, label: string, cloudConsidered = true): void {
  assert.equal(r.modelUsed, 'local/tiny', label);
  // A cloud model appears only as skipped with the guard's reason (or not at all, once the local model won).
  const cloud = r.attempts.filter((a) => a.model !== 'local/tiny');
  if (cloudConsidered) assert.ok(cloud.length > 0, `${label}: no cloud model was considered`);
  for (const a of cloud) assert.deepEqual([a.outcome, a.message], ['skipped', PRIVACY_SKIP], `${label}: ${a.model}`);
}

const cli = runCli;

async function waitForLocal(list: () => Promise<{ models: { id: string }[] }>): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const { models } = await list();
    if (models.some((m) => m.id === 'local/tiny')) return;
    if (Date.now() - t0 > 15_000) throw new Error(`local/tiny never listed: ${models.map((m) => m.id).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  fault = await startFaultServer();
  modelsDir = path.join(tmpDir('backstop-privacy-models-'), 'models');
  fs.mkdirSync(modelsDir);
  fs.copyFileSync(await ensureFixtureModel('tiny'), path.join(modelsDir, 'tiny.gguf'));
});

after(async () => {
  await fault.close();
});

describe('privacy guard: per request', () => {
  let daemon: Spawned;
  let info: DaemonInfo;
  let state: string;
  let ws: WsClient;
  const auth = () => ({ authorization: `Bearer ${info.token}`, 'content-type': 'application/json' });
  const http = (p: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${info.httpPort}${p}`, {
      method: 'POST',
      headers: { ...auth(), ...headers },
      body: JSON.stringify(body),
    });

  before(async () => {
    const dir = tmpDir('backstop-privacy-');
    state = path.join(dir, 'state');
    daemon = spawnCli([
      'serve',
      '--ws',
      '0',
      '--http',
      '0',
      '--config',
      writeConfig(dir, config()),
      '--state-dir',
      state,
    ]);
    info = await waitForDaemonFile(state, daemon);
    ws = await WsClient.open(info.wsPort!, { authorization: `Bearer ${info.token}` });
    await waitForLocal(() => ws.request(methods.models, {}));
    fault.reset();
  });
  after(async () => {
    ws.close();
    await daemon.kill();
  });

  it('control: without the guard the same chain answers from the cloud', async () => {
    const r = await ws.request<CompleteResult>(methods.complete, { prompt: 'hello', maxTokens: 4 });
    assert.ok(fault.attempts.length >= 1, `the cloud was not reached: ${JSON.stringify(r.attempts)}`);
    fault.reset();
  });

  it('WebSocket RPC: localOnly answers from the local model, the cloud receives nothing', async () => {
    const r = await ws.request<CompleteResult>(methods.complete, {
      prompt: `key ${SECRET}`,
      maxTokens: 4,
      localOnly: true,
    });
    assertLocalAnswer(r, 'ws');
    assertNothingReachedCloud('ws');
  });

  it('WebSocket RPC: the guard holds for every strategy and with hedging', async () => {
    for (const strategy of ['fastest', 'load_balanced', 'sequential'] as const) {
      const r = await ws.request<CompleteResult>(methods.complete, {
        prompt: `key ${SECRET}`,
        maxTokens: 4,
        localOnly: true,
        strategy,
      });
      // load_balanced may put the local model first (the cloud failed the control request).
      assertLocalAnswer(r, strategy, strategy !== 'load_balanced');
    }
    assertNothingReachedCloud('strategies');
  });

  it('HTTP /rpc: localOnly answers locally', async () => {
    const res = await http('/rpc', {
      jsonrpc: '2.0',
      id: 1,
      method: methods.complete.method,
      params: { prompt: `key ${SECRET}`, maxTokens: 4, localOnly: true },
    });
    const m = (await res.json()) as { result: CompleteResult };
    assertLocalAnswer(m.result, '/rpc');
    assertNothingReachedCloud('/rpc');
  });

  it('a cloud-only chain under the guard fails with the guard error, naming what to do', async () => {
    const e = await ws
      .request(methods.complete, { prompt: SECRET, chain: ['cloud/ok', 'claude/ok'], localOnly: true })
      .then(
        () => assert.fail('a cloud-only chain answered under the guard'),
        (err: { code: number; message: string; data: { attempts: Attempt[] } }) => err,
      );
    assert.equal(e.code, -32007);
    assert.match(e.message, /privacy: local only/);
    assert.match(e.message, /no local model/);
    assert.match(e.message, /Add a local model to the chain/);
    assert.deepEqual(
      e.data.attempts.map((a) => [a.model, a.outcome, a.message]),
      [
        ['cloud/ok', 'skipped', PRIVACY_SKIP],
        ['claude/ok', 'skipped', PRIVACY_SKIP],
      ],
    );
    assertNothingReachedCloud('cloud-only');
  });

  it('CLI: complete --local-only answers locally', async () => {
    const r = await cli([
      'complete',
      `key ${SECRET}`,
      '--local-only',
      '--max-tokens',
      '4',
      '--json',
      '--state-dir',
      state,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assertLocalAnswer(JSON.parse(r.stdout) as CompleteResult, 'cli');
    assertNothingReachedCloud('cli');
  });

  it('gateway /v1/chat/completions with x-backstop-local-only, plain and streamed', async () => {
    for (const stream of [false, true]) {
      const res = await http(
        '/v1/chat/completions',
        { model: 'backstop', stream, max_tokens: 4, messages: [{ role: 'user', content: `key ${SECRET}` }] },
        { 'x-backstop-local-only': 'true' },
      );
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.equal(res.headers.get('x-backstop-model'), 'local/tiny', `stream=${stream}`);
    }
    assertNothingReachedCloud('openai gateway');
  });

  it('gateway /v1/completions and /v1/messages with the header', async () => {
    const text = await http(
      '/v1/completions',
      { model: 'backstop', max_tokens: 4, prompt: `key ${SECRET}` },
      { 'x-backstop-local-only': 'true' },
    );
    assert.equal(text.status, 200, await text.clone().text());
    assert.equal(text.headers.get('x-backstop-model'), 'local/tiny');
    for (const stream of [false, true]) {
      const res = await http(
        '/v1/messages',
        { model: 'backstop', stream, max_tokens: 4, messages: [{ role: 'user', content: `key ${SECRET}` }] },
        { 'x-backstop-local-only': 'true', 'anthropic-version': '2023-06-01' },
      );
      const body = await res.text();
      assert.equal(res.status, 200, body);
      assert.equal(res.headers.get('x-backstop-model'), 'local/tiny', `messages stream=${stream}`);
    }
    assertNothingReachedCloud('anthropic gateway');
  });

  it('gateway: a cloud-only model under the header is refused; a bad header value is a 400 that says why', async () => {
    const refused = await http(
      '/v1/chat/completions',
      { model: 'cloud/ok', models: ['cloud/ok'], messages: [{ role: 'user', content: SECRET }] },
      { 'x-backstop-local-only': 'true' },
    );
    const body = await refused.text();
    assert.ok(refused.status >= 400, body);
    assert.match(body, /privacy: local only/);
    const bad = await http(
      '/v1/chat/completions',
      { model: 'backstop', messages: [{ role: 'user', content: SECRET }] },
      { 'x-backstop-local-only': 'maybe' },
    );
    assert.equal(bad.status, 400);
    const err = (await bad.json()) as { error: { message: string } };
    assert.match(err.error.message, /x-backstop-local-only: "maybe" is not true or false/);
    assertNothingReachedCloud('gateway refusals');
  });
});

describe('privacy guard: privacy.localOnly for the whole daemon', () => {
  let d: ReturnType<typeof spawnStdio>;
  before(async () => {
    const dir = tmpDir('backstop-privacy-all-');
    const cfg = writeConfig(dir, config({ privacy: { localOnly: true } }));
    d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')], ENV);
    await waitForLocal(() => d.conn.sendRequest(methods.models.method, {}));
    fault.reset();
  });
  after(async () => {
    await d.kill();
  });

  it('stdio RPC: a request without localOnly stays local too', async () => {
    const r = await d.conn.sendRequest<CompleteResult>(methods.complete.method, {
      prompt: `key ${SECRET}`,
      maxTokens: 4,
    });
    assertLocalAnswer(r, 'stdio');
    const off = await d.conn.sendRequest<CompleteResult>(methods.complete.method, {
      prompt: `key ${SECRET}`,
      maxTokens: 4,
      localOnly: false,
    });
    assertLocalAnswer(off, 'a request cannot weaken the daemon-wide guard');
    assertNothingReachedCloud('config');
  });
});
