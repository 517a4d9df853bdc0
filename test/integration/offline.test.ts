// Offline mode through the built daemon. Refused hosts: the first request finds each cloud host down
// once (no retries, no backoff) and answers locally; from the second on the cloud models are skipped
// without a call, the status says which hosts are offline, and a probe finds a host that came back.
// A real offline machine (`unshare -n`: only loopback, DNS fails, connects get ENETUNREACH): the daemon
// knows from the OS that the network is down and never calls the cloud models at all.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { methods } from '../../protocol/index';
import type { CompleteResult, Status } from '../../protocol/types';
import { ensureFixtureModel } from '../fixtures/genGguf';
import { startFaultServer, type FaultServer } from '../fixtures/faultServer';
import { CLI, spawnStdio, tmpDir, writeConfig } from '../helpers/daemon';

const NO_SCAN = { lmStudio: false, huggingFace: false, nodeLlamaCpp: false, llamaCpp: false };
/** The probe interval starts at 1 s and doubles: a host back within this long is found. */
const PROBE_FOUND_WITHIN_MS = 8000;

let modelsDir: string;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

type Request = <R>(method: string, params?: unknown) => Promise<R>;

async function waitForLocal(request: Request): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const { models } = await request<{ models: { id: string }[] }>(methods.models.method, {});
    if (models.some((m) => m.id === 'local/tiny')) return;
    if (Date.now() - t0 > 15_000) throw new Error('local/tiny never listed');
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  modelsDir = path.join(tmpDir('backstop-offline-models-'), 'models');
  fs.mkdirSync(modelsDir);
  fs.copyFileSync(await ensureFixtureModel('tiny'), path.join(modelsDir, 'tiny.gguf'));
});

describe('offline mode: refused cloud hosts', () => {
  let d: ReturnType<typeof spawnStdio>;
  let portA: number;
  let portB: number;
  let fault: FaultServer | undefined;
  const request: Request = (m, p) => d.conn.sendRequest(m, p);

  before(async () => {
    portA = await freePort();
    portB = await freePort();
    const dir = tmpDir('backstop-offline-');
    const cfg = writeConfig(dir, {
      providers: [
        { id: 'a', type: 'openai-compatible', baseUrl: `http://127.0.0.1:${portA}/v1`, models: ['ok'] },
        { id: 'b', type: 'openai-compatible', baseUrl: `http://127.0.0.1:${portB}/v1`, models: ['ok'] },
        { id: 'local', type: 'local', modelsDirs: [modelsDir], scan: NO_SCAN, threads: 1 },
      ],
      chain: ['a/ok', 'b/ok', 'local/tiny'],
      maxRetries: 2,
      backoff: { baseMs: 500, maxMs: 2000, jitter: false },
      circuit: { failureThreshold: 100, minRequests: 100 },
    });
    d = spawnStdio(['--config', cfg, '--state-dir', path.join(dir, 'state')]);
    await waitForLocal(request);
  });
  after(async () => {
    await d.kill();
    await fault?.close();
  });

  it('the first request tries each refused host once (no retries, no backoff) and answers locally', async () => {
    const r = await request<CompleteResult>(methods.complete.method, { prompt: 'hi', maxTokens: 4 });
    assert.equal(r.modelUsed, 'local/tiny');
    const cloud = r.attempts.filter((a) => a.model !== 'local/tiny');
    assert.deepEqual(
      cloud.map((a) => [a.model, a.outcome, a.failure]),
      [
        ['a/ok', 'error', 'network'],
        ['b/ok', 'error', 'network'],
      ],
      JSON.stringify(r.attempts),
    );
    const s = await request<Status>(methods.status.method);
    assert.deepEqual(s.offline?.hosts, [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`].sort());
    assert.equal(s.offline?.network, false, 'a refused loopback host says nothing about the network');
    assert.match(s.offline?.reason ?? '', /^offline: connection refused/);
  });

  it('from the second request on, the offline hosts are skipped without a call', async () => {
    const r = await request<CompleteResult>(methods.complete.method, { prompt: 'hi', maxTokens: 4 });
    assert.equal(r.modelUsed, 'local/tiny');
    for (const a of r.attempts.filter((x) => x.model !== 'local/tiny')) {
      assert.equal(a.outcome, 'skipped', JSON.stringify(a));
      assert.match(a.message ?? '', /^offline: connection refused/);
    }
  });

  it('a host that comes back is found by its probe and used again', async () => {
    fault = await startFaultServer({ port: portA });
    const t0 = Date.now();
    for (;;) {
      const s = await request<Status>(methods.status.method);
      if (!s.offline?.hosts.includes(`http://127.0.0.1:${portA}`)) break;
      assert.ok(Date.now() - t0 < PROBE_FOUND_WITHIN_MS, `host A still offline: ${JSON.stringify(s.offline)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const r = await request<CompleteResult>(methods.complete.method, { prompt: 'hi', maxTokens: 4 });
    assert.equal(r.modelUsed, 'a/ok');
    assert.equal(fault.attempts.length, 1);
  });
});

describe('offline mode: a machine without a network (unshare -n)', () => {
  let conn: ReturnType<typeof createMessageConnection>;
  let child: ReturnType<typeof spawn>;
  let stderr = '';
  const request: Request = (m, p) => conn.sendRequest(m, p);

  before(async () => {
    const dir = tmpDir('backstop-netns-');
    const cfg = writeConfig(dir, {
      providers: [
        { id: 'openai', type: 'openai-compatible', baseUrl: 'https://api.openai.com/v1', models: ['gpt-4o-mini'] },
        { id: 'claude', type: 'anthropic', models: ['claude-3-5-haiku-latest'], apiKeyEnv: 'BACKSTOP_TEST_KEY' },
        { id: 'local', type: 'local', modelsDirs: [modelsDir], scan: NO_SCAN, threads: 1 },
      ],
      chain: ['openai/gpt-4o-mini', 'claude/claude-3-5-haiku-latest', 'local/tiny'],
      maxRetries: 2,
    });
    // A network namespace with only loopback, up: no packet can leave the machine.
    child = spawn(
      'unshare',
      [
        '-n',
        'sh',
        '-c',
        'ip link set lo up && exec "$@"',
        'sh',
        process.execPath,
        CLI,
        'serve',
        '--stdio',
        '--config',
        cfg,
        '--state-dir',
        path.join(dir, 'state'),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, BACKSTOP_TEST_KEY: 'k', OPENAI_API_KEY: 'k' } },
    );
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    conn = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    conn.listen();
    await waitForLocal(request).catch((e: Error) => {
      throw new Error(`${e.message}; is unshare -n allowed here (root)? daemon stderr:\n${stderr}`);
    });
  });
  after(async () => {
    conn.dispose();
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  });

  it('cloud models are skipped as offline from the first request; the local model answers', async () => {
    const r = await request<CompleteResult>(methods.complete.method, { prompt: 'hi', maxTokens: 4 });
    assert.equal(r.modelUsed, 'local/tiny');
    const cloud = r.attempts.filter((a) => a.model !== 'local/tiny');
    assert.equal(cloud.length, 2, JSON.stringify(r.attempts));
    for (const a of cloud) {
      assert.equal(a.outcome, 'skipped');
      assert.equal(a.failure, 'network');
      assert.match(a.message ?? '', /^offline: no network interface is up/);
    }
    const s = await request<Status>(methods.status.method);
    assert.equal(s.offline?.network, true);
    assert.deepEqual(s.offline?.hosts, ['https://api.anthropic.com', 'https://api.openai.com']);
  });
});
