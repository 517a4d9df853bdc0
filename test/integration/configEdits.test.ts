// Issue 15, finding 2, through the BUILT daemon: run-time edits (backstop/setChain, setPrimary,
// setConfig, `backstop chain set`) were lost on every restart, clean or kill -9. Now each is stored
// before it is answered and re-applied at the next start; a config file that changes the same
// setting wins over the edit.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { methods } from '../../protocol/index';
import type { Config } from '../../protocol/config';
import { CLI, spawnCli, tmpDir, waitForDaemonFile, WsClient, writeConfig, type Spawned } from '../helpers/daemon';

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const PROVIDER = { id: 'c', type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', models: ['a', 'b', 'x'] };

describe('run-time edits survive restarts', () => {
  const dir = tmpDir('backstop-edits-');
  const state = path.join(dir, 'state');
  const cfgFile = (over: Record<string, unknown> = {}) =>
    writeConfig(dir, { providers: [PROVIDER], chain: ['c/a'], ...over });
  let daemon: Spawned | undefined;
  let client: WsClient | undefined;

  async function startDaemon(): Promise<WsClient> {
    client?.close();
    daemon = spawnCli(['serve', '--ws', '0', '--config', path.join(dir, 'config.json'), '--state-dir', state]);
    const info = await waitForDaemonFile(state, daemon);
    client = await WsClient.open(info.wsPort!, { authorization: `Bearer ${info.token}` });
    return client;
  }

  async function kill9(): Promise<void> {
    client?.close();
    client = undefined;
    daemon!.child.kill('SIGKILL');
    await daemon!.exited;
    // kill -9 leaves daemon.json: wait for nothing, the next daemon replaces it.
    fs.rmSync(path.join(state, 'daemon.json'), { force: true });
  }

  after(async () => {
    client?.close();
    await daemon?.kill();
  });

  it('setChain, setPrimary and setConfig are there after kill -9', async () => {
    cfgFile();
    const c = await startDaemon();
    await c.request(methods.setChain, { chain: ['c/b', 'c/a'], strategy: 'fastest' });
    await c.request(methods.setPrimary, { model: 'c/x' });
    await c.request(methods.setConfig, { timeoutMs: 20_000, circuit: { cooldownMs: 1234 } });
    await kill9();

    const c2 = await startDaemon();
    const cfg = await c2.request<Config>(methods.getConfig);
    assert.deepEqual(cfg.chain, ['c/x', 'c/b', 'c/a']);
    assert.equal(cfg.strategy, 'fastest');
    assert.equal(cfg.timeoutMs, 20_000);
    assert.equal(cfg.circuit.cooldownMs, 1234);
    const status = await c2.request<{ chain: string[] }>(methods.status);
    assert.deepEqual(status.chain, ['c/x', 'c/b', 'c/a']);
  });

  it('`backstop chain set` against the running daemon survives kill -9 too', async () => {
    const r = await cli(['chain', 'set', 'c/a', 'c/b', '--state-dir', state]);
    assert.equal(r.code, 0, r.stderr);
    await kill9();
    const c = await startDaemon();
    assert.deepEqual((await c.request<Config>(methods.getConfig)).chain, ['c/a', 'c/b']);
  });

  it('a clean restart after the config file changed a setting: the file wins for that setting only', async () => {
    await daemon!.kill();
    fs.rmSync(path.join(state, 'daemon.json'), { force: true });
    cfgFile({ timeoutMs: 25_000 });
    const c = await startDaemon();
    const cfg = await c.request<Config>(methods.getConfig);
    assert.equal(cfg.timeoutMs, 25_000);
    assert.deepEqual(cfg.chain, ['c/a', 'c/b']);
    assert.equal(cfg.circuit.cooldownMs, 1234);
  });

  it('an edit made by an embedded CLI daemon (no daemon running) applies at the next start', async () => {
    await daemon!.kill();
    fs.rmSync(path.join(state, 'daemon.json'), { force: true });
    const r = await cli(['chain', 'set', 'c/x', '--config', path.join(dir, 'config.json'), '--state-dir', state]);
    assert.equal(r.code, 0, r.stderr);
    const c = await startDaemon();
    assert.deepEqual((await c.request<Config>(methods.getConfig)).chain, ['c/x']);
  });
});
