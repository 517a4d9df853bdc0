// The gateway as a team service (issue 20): `serve --host` beyond loopback refuses to start without
// per-user API keys; a key from `backstop keys add` works with the official `openai` SDK, the log names
// the key (never the key), a revoked key gets 401 without a restart, the daemon token still works on
// this machine, and keys never open JSON-RPC.
import assert from 'node:assert/strict';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { FAULT_MODELS, FIXED_ANSWER, type FaultServer, startFaultServer } from '../fixtures/faultServer';
import { faultConfig } from '../helpers/gatewayDaemon';
import {
  type DaemonInfo,
  runCli,
  spawnCli,
  type Spawned,
  tmpDir,
  waitForDaemonFile,
  writeConfig,
} from '../helpers/daemon';

/** This machine's first non-loopback IPv4 address: what a teammate would connect to. */
const external = Object.values(os.networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
/** Bind to that address when the machine has one, else to every interface (0.0.0.0, reached via 127.0.0.1). */
const HOST = external ?? '0.0.0.0';
const REACH = external ?? '127.0.0.1';

describe('gateway as a team service: serve --host with per-user API keys', () => {
  let fault: FaultServer;
  let dir: string;
  let state: string;
  let cfg: string;
  let daemon: Spawned | undefined;
  let info: DaemonInfo;
  let base: string;
  const keys: Record<string, string> = {};

  const addKey = async (name: string) => {
    const r = await runCli(['keys', 'add', name, '--json', '--state-dir', state]);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { name: string; key: string };
    assert.equal(j.name, name);
    keys[name] = j.key;
  };
  const chat = (apiKey: string) =>
    new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0 }).chat.completions.create({
      model: `fault/${FAULT_MODELS.ok}`,
      messages: [{ role: 'user', content: 'hello' }],
      max_tokens: 16,
    });
  const status = async (apiKey: string): Promise<number> => {
    try {
      await chat(apiKey);
      return 200;
    } catch (e) {
      if (e instanceof OpenAI.APIError && e.status !== undefined) return e.status;
      throw e;
    }
  };

  before(async () => {
    fault = await startFaultServer();
    dir = tmpDir('backstop-teamkeys-');
    state = path.join(dir, 'state');
    cfg = writeConfig(dir, faultConfig(fault, { chain: [`fault/${FAULT_MODELS.ok}`] }));
  });
  after(async () => {
    await daemon?.kill();
    await fault.close();
  });

  it('refuses to start beyond loopback without keys: exit 2, saying how to issue one', async () => {
    for (const host of new Set([HOST, '0.0.0.0'])) {
      const r = await runCli(['serve', '--http', '0', '--host', host, '--config', cfg, '--state-dir', state]);
      assert.equal(r.code, 2, `--host ${host}: ${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(`serving on ${host.replace(/\./g, '\\.')} \\(not loopback\\) needs per-user API keys`),
      );
      assert.match(r.stderr, /backstop keys add NAME/);
    }
  });

  it('a loopback address other than 127.0.0.1 needs no keys, and its Host passes the check', async () => {
    const d = spawnCli(['serve', '--http', '0', '--host', '127.0.0.2', '--config', cfg, '--state-dir', state]);
    try {
      const i = await waitForDaemonFile(state, d);
      const r = await fetch(`http://127.0.0.2:${i.httpPort}/v1/models`, {
        headers: { authorization: `Bearer ${i.token}` },
      });
      assert.equal(r.status, 200);
    } finally {
      await d.kill();
    }
  });

  it('a key from `keys add` works with the openai SDK on the configured host, and the log names it', async () => {
    await addKey('alice');
    await addKey('bob');
    daemon = spawnCli(['serve', '--http', '0', '--host', HOST, '--config', cfg, '--state-dir', state]);
    info = await waitForDaemonFile(state, daemon);
    base = `http://${REACH}:${info.httpPort}`;
    const answer = await chat(keys.alice!);
    assert.equal(answer.choices[0]?.message.content, FIXED_ANSWER);
    assert.equal(answer.model, `fault/${FAULT_MODELS.ok}`);
    const deadline = Date.now() + 2000;
    while (!/gateway: key "alice" POST \/v1\/chat\/completions → 200/.test(daemon.stderr()) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.match(daemon.stderr(), /gateway: key "alice" POST \/v1\/chat\/completions → 200/);
    assert.ok(!daemon.stderr().includes(keys.alice!), 'the key itself is never logged');
    assert.equal(await status('bsk_not-a-key-we-issued'), 401);
  });

  it('the daemon token keeps working from this machine; a key never opens JSON-RPC', async () => {
    assert.equal(await status(info.token), 200);
    const rpc = (token: string) =>
      fetch(`${base}/rpc`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'backstop/status' }),
      });
    assert.equal((await rpc(info.token)).status, 200);
    const refused = await rpc(keys.bob!);
    assert.equal(refused.status, 403);
    assert.match(
      ((await refused.json()) as { error: { message: string } }).error.message,
      /key "bob" opens the gateway/,
    );
  });

  it('the configured host passes the Host check; any other Host gets 421 even with a key (DNS rebinding)', async () => {
    // fetch sets Host from the URL; node:http sends the one given.
    const get = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.get(
          {
            host: REACH,
            port: info.httpPort,
            path: '/v1/models',
            headers: { host, authorization: `Bearer ${keys.bob}` },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
      });
    assert.equal(await get(`${REACH}:${info.httpPort}`), 200);
    assert.equal(await get(`rebind.example:${info.httpPort}`), 421);
  });

  it('a revoked key gets 401 at once, without a restart; the other keys keep working', async () => {
    const r = await runCli(['keys', 'revoke', 'alice', '--state-dir', state]);
    assert.equal(r.code, 0, r.stderr);
    const t0 = Date.now();
    let code = await status(keys.alice!);
    while (code !== 401 && Date.now() - t0 < 2000) code = await status(keys.alice!);
    const ms = Date.now() - t0;
    assert.equal(code, 401, 'the revoked key is still accepted 2 s later');
    process.stdout.write(`# revoked key refused ${ms} ms after \`keys revoke\` returned\n`);
    assert.equal(await status(keys.bob!), 200);
    assert.equal(daemon!.child.exitCode, null, 'same daemon, no restart');
    const list = await runCli(['keys', 'list', '--json', '--state-dir', state]);
    assert.deepEqual(
      (JSON.parse(list.stdout) as { keys: { name: string }[] }).keys.map((k) => k.name),
      ['bob'],
    );
  });
});
