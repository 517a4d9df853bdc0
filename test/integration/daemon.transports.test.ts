// The built daemon over its real transports: stdio (LSP framing) and WebSocket, auth, daemon.json,
// garbage frames, configuration errors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { methods } from '../../protocol/index';
import type { Config } from '../../protocol/config';
import type { Status } from '../../protocol/types';
import {
  spawnCli,
  spawnStdio,
  tmpDir,
  waitForDaemonFile,
  writeConfig,
  WsClient,
  type Spawned,
  type DaemonInfo,
} from '../helpers/daemon';

const CHAIN = ['cloud/model-a', 'cloud/model-b'];
const baseConfig = {
  providers: [
    { id: 'cloud', type: 'openai-compatible', baseUrl: 'http://127.0.0.1:1/v1', models: ['model-a', 'model-b'] },
  ],
  chain: CHAIN,
};

describe('daemon over stdio', () => {
  it('answers backstop/status with a health score and the configured chain', async () => {
    const dir = tmpDir();
    const cfg = writeConfig(dir, baseConfig);
    const d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
    try {
      const s = await d.conn.sendRequest<Status>(methods.status.method);
      assert.ok(s.healthScore >= 0 && s.healthScore <= 100, `healthScore ${s.healthScore}`);
      assert.deepEqual(s.chain, CHAIN);
      assert.equal(typeof s.version, 'string');
      const c = await d.conn.sendRequest<Config>(methods.getConfig.method);
      assert.equal(c.timeoutMs, 30_000, 'defaults of PROTOCOL.md filled in');
    } finally {
      await d.kill();
    }
  });

  it('setConfig validates and applies without a restart; setChain / setPrimary reorder', async () => {
    const dir = tmpDir();
    const d = spawnStdio(['--config', writeConfig(dir, baseConfig), '--state-dir', path.join(dir, 'state')]);
    try {
      const c = await d.conn.sendRequest<Config>(methods.setConfig.method, { maxRetries: 5 });
      assert.equal(c.maxRetries, 5);
      await assert.rejects(
        d.conn.sendRequest(methods.setConfig.method, { timeoutMs: 10 }),
        (e: { code: number; message: string }) => e.code === -32602 && /timeoutMs/.test(e.message),
      );
      const again = await d.conn.sendRequest<Config>(methods.getConfig.method);
      assert.equal(again.timeoutMs, 30_000, 'a rejected change leaves the config as it was');
      const p = await d.conn.sendRequest<{ chain: string[] }>(methods.setPrimary.method, { model: 'cloud/model-b' });
      assert.deepEqual(p.chain, ['cloud/model-b', 'cloud/model-a']);
      await assert.rejects(
        d.conn.sendRequest(methods.setChain.method, { chain: ['nope/x'] }),
        (e: { code: number }) => e.code === -32004,
      );
      const s = await d.conn.sendRequest<Status>(methods.status.method);
      assert.deepEqual(s.chain, ['cloud/model-b', 'cloud/model-a']);
    } finally {
      await d.kill();
    }
  });

  it('an invalid config file stops the daemon with a non-zero exit naming the key', async () => {
    const dir = tmpDir();
    const s = spawnCli([
      'serve',
      '--stdio',
      '--config',
      writeConfig(dir, { chain: 5 }),
      '--state-dir',
      path.join(dir, 'state'),
    ]);
    const code = await s.exited;
    assert.notEqual(code, 0);
    assert.match(s.stderr(), /chain/);
  });

  it('an invalid YAML config names the key too', async () => {
    const dir = tmpDir();
    const s = spawnCli([
      'serve',
      '--stdio',
      '--config',
      writeConfig(dir, 'strategy: fastestest\n', 'c.yaml'),
      '--state-dir',
      path.join(dir, 'state'),
    ]);
    assert.notEqual(await s.exited, 0);
    assert.match(s.stderr(), /strategy/);
  });
});

describe('daemon over WebSocket', () => {
  let dir: string;
  let d: Spawned;
  let info: DaemonInfo;
  before(async () => {
    dir = tmpDir();
    d = spawnCli([
      'serve',
      '--ws',
      '0',
      '--config',
      writeConfig(dir, baseConfig),
      '--state-dir',
      path.join(dir, 'state'),
    ]);
    info = await waitForDaemonFile(path.join(dir, 'state'), d);
  });
  after(async () => {
    await d.kill();
  });

  it('writes daemon.json with mode 0600, its pid, port and token', () => {
    const st = fs.statSync(path.join(dir, 'state', 'daemon.json'));
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(info.pid, d.child.pid);
    assert.ok(info.wsPort && info.wsPort > 0);
    assert.ok(info.token.length >= 20);
  });

  it('serves status to a client with the token', async () => {
    const c = await WsClient.open(info.wsPort!, { authorization: `Bearer ${info.token}` });
    try {
      const s = await c.request<Status>(methods.status);
      assert.deepEqual(s.chain, CHAIN);
    } finally {
      c.close();
    }
  });

  it('refuses a wrong token, a missing token and a foreign Origin', async () => {
    await assert.rejects(
      WsClient.open(info.wsPort!, { authorization: 'Bearer wrong' }),
      (e: { statusCode?: number }) => e.statusCode === 401,
    );
    await assert.rejects(WsClient.open(info.wsPort!, {}), (e: { statusCode?: number }) => e.statusCode === 401);
    await assert.rejects(
      WsClient.open(info.wsPort!, { authorization: `Bearer ${info.token}`, origin: 'http://evil.example' }),
      (e: { statusCode?: number }) => e.statusCode === 403,
    );
  });

  it('survives 300 garbage frames, answering each with a JSON-RPC error, and keeps serving', async () => {
    const c = await WsClient.open(info.wsPort!, { authorization: `Bearer ${info.token}` });
    try {
      const garbage = [
        '{',
        'null',
        '[]',
        '42',
        '{"jsonrpc":"1.0"}',
        '{"jsonrpc":"2.0","id":{},"method":"x"}',
        '\u0000\u0001',
        '{"jsonrpc":"2.0","id":1}',
        'Content-Length: 5\r\n\r\n{}',
      ];
      for (let i = 0; i < 300; i++) c.ws.send(garbage[i % garbage.length]! + (i % 7 === 0 ? ' '.repeat(i) : ''));
      // every frame that is not a notification gets an error back
      const t0 = Date.now();
      while (c.raw.length < 300 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
      const errors = c.raw.filter((m) => (m as { error?: { code: number } }).error);
      assert.equal(errors.length, 300, `got ${c.raw.length} replies`);
      for (const e of errors) assert.ok([-32700, -32600].includes((e as { error: { code: number } }).error.code));
      const unknown = await c.request(methods.status).then(() => 'ok');
      assert.equal(unknown, 'ok');
      await assert.rejects(c.request({ method: 'backstop/noSuchMethod' }), (e: { code: number }) => e.code === -32601);
    } finally {
      c.close();
    }
    assert.equal(d.child.exitCode, null, 'daemon still running');
  });

  it('refuses an oversized message with an error, not a crash', async () => {
    const c = await WsClient.open(info.wsPort!, { authorization: `Bearer ${info.token}` });
    try {
      const big = JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'backstop/status',
        params: { pad: 'x'.repeat(9 * 1024 * 1024) },
      });
      c.ws.send(big);
      const reply = (await c.nextRaw()) as { error?: { code: number; message: string } };
      assert.equal(reply.error?.code, -32006);
      assert.match(reply.error?.message ?? '', /exceeds/);
      assert.deepEqual((await c.request<Status>(methods.status)).chain, CHAIN);
    } finally {
      c.close();
    }
  });

  it('removes daemon.json on SIGTERM', async () => {
    const dir2 = tmpDir();
    const d2 = spawnCli([
      'serve',
      '--ws',
      '0',
      '--config',
      writeConfig(dir2, baseConfig),
      '--state-dir',
      path.join(dir2, 'state'),
    ]);
    await waitForDaemonFile(path.join(dir2, 'state'), d2);
    d2.child.kill('SIGTERM');
    assert.equal(await d2.exited, 0);
    assert.equal(fs.existsSync(path.join(dir2, 'state', 'daemon.json')), false);
  });
});
