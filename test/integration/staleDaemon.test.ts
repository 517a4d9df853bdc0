// Issue 15, finding 3, with the BUILT CLI: a daemon.json left by a daemon that died. Before, `backstop
// status` quietly started an embedded daemon with the default configuration ("chain empty", exit 0)
// and left the file. Now it says in one line that the daemon is gone and why, removes the file, and
// the embedded daemon runs with the configuration the dead one was started with.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Status } from '../../protocol/types';
import { CLI, spawnCli, tmpDir, waitForDaemonFile, writeConfig, type Spawned } from '../helpers/daemon';

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const CHAIN = ['nowhere/primary', 'nowhere/fallback'];

function setup(): { dir: string; state: string; cfg: string } {
  const dir = tmpDir('backstop-stale-');
  const state = path.join(dir, 'state');
  const cfg = writeConfig(dir, {
    providers: [{ id: 'nowhere', type: 'openai-compatible', baseUrl: 'http://127.0.0.1:9/v1', models: ['primary'] }],
    chain: CHAIN,
  });
  return { dir, state, cfg };
}

describe('a daemon.json left by a dead daemon', () => {
  const spawned: Spawned[] = [];
  after(async () => {
    for (const s of spawned) await s.kill();
  });

  it('records the config path; after kill -9, status says so in one line, removes the file, uses that config', async () => {
    const { state, cfg } = setup();
    // A relative --config, as a user types it: daemon.json holds it resolved.
    const daemon = spawnCli([
      'serve',
      '--ws',
      '0',
      '--config',
      path.relative(process.cwd(), cfg),
      '--state-dir',
      state,
    ]);
    spawned.push(daemon);
    const info = await waitForDaemonFile(state, daemon);
    assert.equal((info as { configPath?: string }).configPath, cfg);
    const live = await cli(['status', '--json', '--state-dir', state]);
    assert.equal(live.code, 0, live.stderr);
    assert.equal(live.stderr, '', 'a live daemon: no notice');

    daemon.child.kill('SIGKILL');
    await daemon.exited;
    const file = path.join(state, 'daemon.json');
    assert.ok(fs.existsSync(file), 'kill -9 leaves daemon.json behind');

    const r = await cli(['status', '--json', '--state-dir', state]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`is gone \\(its process ${info.pid} is not running\\); removed the stale file`));
    assert.match(lines[0]!, new RegExp(`with its config ${cfg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    assert.equal(fs.existsSync(file), false, 'the stale file is removed');
    const s = JSON.parse(r.stdout) as Status;
    assert.deepEqual(s.chain, CHAIN, 'the embedded daemon runs with the dead one’s config, not an empty chain');

    // The file is gone: the next command starts embedded without a notice.
    const again = await cli(['status', '--json', '--state-dir', state]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, '');
  });

  it('a live pid whose port does not answer is stale too', async () => {
    const { state, cfg } = setup();
    fs.mkdirSync(state, { recursive: true });
    const port = await closedPort();
    // This test process is alive; nothing listens on the port.
    fs.writeFileSync(
      path.join(state, 'daemon.json'),
      JSON.stringify({ pid: process.pid, version: '0', wsPort: port, token: 't', configPath: cfg }),
    );
    const r = await cli(['status', '--json', '--state-dir', state]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr.trim(), new RegExp(`is gone \\(its port ${port} does not answer \\(ECONNREFUSED\\)\\)`));
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.equal(fs.existsSync(path.join(state, 'daemon.json')), false);
    assert.deepEqual((JSON.parse(r.stdout) as Status).chain, CHAIN);
  });

  it('a config file that no longer exists is named, and the default configuration is used', async () => {
    const { dir, state } = setup();
    fs.mkdirSync(state, { recursive: true });
    const gone = path.join(dir, 'deleted.json');
    fs.writeFileSync(
      path.join(state, 'daemon.json'),
      JSON.stringify({ pid: 2 ** 22 + 12345, version: '0', wsPort: 1, token: 't', configPath: gone }),
    );
    const r = await cli(['status', '--json', '--state-dir', state]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /is not running\); removed the stale file, running an embedded daemon with the default/);
    assert.ok(r.stderr.includes(`its config ${gone} no longer exists`), r.stderr);
    assert.equal(fs.existsSync(path.join(state, 'daemon.json')), false);
  });
});
