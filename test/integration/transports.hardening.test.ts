// Issue 15, findings 4–6 on the built daemon: every malformed frame answered on stdio and IPC and the
// stream recovered at the next valid frame (a bad LSP header no longer wedges stdio); the Host header
// checked on HTTP and WebSocket (421); folder settings, config files and model ids validated at entry.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IPCMessageReader, IPCMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import WebSocket from 'ws';
import { methods } from '../../protocol/index';
import type { HealthReport, Status } from '../../protocol/types';
import { nullLogger } from '../../server/core/types';
import { PeerSet } from '../../server/rpc/handlerTable';
import type { Table } from '../../server/transports/serveTable';
import { startWsServer } from '../../server/transports/wsServer';
import { STALL_MS } from '../../server/transports/lspChannel';
import { startFaultServer, type FaultServer } from '../fixtures/faultServer';
import {
  spawnCli,
  tmpDir,
  waitForDaemonFile,
  writeConfig,
  WsClient,
  type DaemonInfo,
  type Spawned,
} from '../helpers/daemon';
import { lspFrame } from '../helpers/fuzz';
import { RawIpc, RawStdio, type Reply } from '../helpers/rawLsp';

const CHAIN = ['cloud/model-a', 'cloud/model-b'];
const baseConfig = {
  providers: [
    { id: 'cloud', type: 'openai-compatible', baseUrl: 'http://127.0.0.1:1/v1', models: ['model-a', 'model-b'] },
    { id: 'local', type: 'local', scan: { lmStudio: false, huggingFace: false, nodeLlamaCpp: false, llamaCpp: false } },
  ],
  chain: CHAIN,
};
const BAD_IDS = ['local/../../../etc/passwd', 'local/\u0000x', 'local/', 'wall/', 'local/a/../b'];

/** 600 invalid bodies (not JSON, or JSON that is not an object), as in finding 4. */
function invalidBodies(): string[] {
  const kinds = ['not json', '{', '42', '"a string"', 'null', 'true', '[1,2]', '[]', '{"jsonrpc":"1.0"}', '', '\u0000'];
  return Array.from({ length: 600 }, (_, i) => kinds[i % kinds.length]! + (i % 5 === 0 ? ' '.repeat(i % 13) : ''));
}

function errorsOf(r: Reply | Reply[]): Reply[] {
  return Array.isArray(r) ? r : [r];
}

function checkInvalidBodyReplies(replies: (Reply | Reply[])[], bodies: string[]): void {
  assert.equal(replies.length, bodies.length, 'one reply per invalid body');
  replies.forEach((r, i) => {
    const batch = bodies[i]!.trim().startsWith('[') && bodies[i]!.trim() !== '[]';
    assert.equal(Array.isArray(r), batch, `${JSON.stringify(bodies[i])} → ${JSON.stringify(r)}`);
    for (const e of errorsOf(r)) {
      assert.ok(e.error && [-32700, -32600].includes(e.error.code), JSON.stringify(r));
      assert.equal(e.id, null);
    }
  });
}

describe('stdio: malformed frames are answered and the stream recovers', () => {
  let d: RawStdio;
  let dir: string;
  before(() => {
    dir = tmpDir('backstop-hard-stdio-');
    d = new RawStdio(['--config', writeConfig(dir, baseConfig), '--state-dir', path.join(dir, 'state')]);
  });
  after(async () => {
    await d.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('"Content-Length: -5" gets a parse error and the next valid request is answered', async () => {
    const before = d.replies().length;
    await d.write('Content-Length: -5\r\n\r\n');
    const r = await d.request(methods.status.method);
    assert.deepEqual((r.result as Status).chain, CHAIN);
    const errors = d
      .replies()
      .slice(before)
      .filter((m) => !Array.isArray(m) && m.id === null) as Reply[];
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.error?.code, -32700);
    assert.match(errors[0]!.error!.message, /Content-Length "-5" is not a byte count/);
  });

  it('600 invalid bodies each get exactly one error; the daemon still answers', async () => {
    const bodies = invalidBodies();
    const start = d.replies().length;
    await d.write(Buffer.concat(bodies.map((b) => lspFrame(b))));
    await d.until(() => d.replies().length >= start + bodies.length, 10_000, '600 replies');
    checkInvalidBodyReplies(d.replies().slice(start, start + bodies.length), bodies);
    assert.ok((await d.request(methods.status.method)).result);
  });

  for (const [name, bytes] of [
    ['a non-numeric length', 'Content-Length: five\r\n\r\n{"jsonrpc":"2.0","id":1,"method":"backstop/status"}'],
    ['an absurd length', 'Content-Length: 9999999999999999\r\n\r\n'],
    ['a missing header', '{"jsonrpc":"2.0","id":"no-header","method":"backstop/status"}'],
    ['garbage bytes', '\u0000\u00ff\u0001garbage\r\n\r\n\r\n'],
    ['bare newlines', 'Content-Length: 2\n\n{}'],
  ] as const) {
    it(`${name}: answered with an error (id null), then the stream resynchronises`, async () => {
      const start = d.replies().length;
      await d.write(bytes);
      const r = await d.request(methods.getConfig.method);
      assert.ok(r.result, JSON.stringify(r));
      const errors = d
        .replies()
        .slice(start)
        .filter((m) => !Array.isArray(m) && m.id === null) as Reply[];
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.ok([-32700, -32006].includes(errors[0]!.error!.code));
      assert.equal(d.find('no-header'), undefined, 'a message without a header is not run');
    });
  }

  it('a Content-Length larger than its body: after a quiet moment the next frame is read', async () => {
    const start = d.replies().length;
    await d.write('Content-Length: 5000\r\n\r\n{}');
    const t0 = Date.now();
    const r = await d.request(methods.getConfig.method, undefined, STALL_MS + 5000);
    assert.ok(r.result);
    assert.ok(Date.now() - t0 >= STALL_MS - 50);
    const errors = d
      .replies()
      .slice(start)
      .filter((m) => !Array.isArray(m) && m.id === null) as Reply[];
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.error!.message, /went quiet/);
  });

  it('a header split across writes is still read', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 'split', method: methods.getConfig.method });
    const bytes = lspFrame(body);
    for (let i = 0; i < bytes.length; i += 7) await d.write(bytes.subarray(i, i + 7));
    await d.until(() => d.find('split') !== undefined);
    assert.ok(d.find('split')!.result);
  });

  it('setChain refuses path-like and control-character model ids with -32602 naming the field', async () => {
    for (const id of BAD_IDS) {
      const r = await d.request(methods.setChain.method, { chain: [id] });
      assert.equal(r.error?.code, -32602, `${JSON.stringify(id)}: ${JSON.stringify(r)}`);
      assert.match(r.error!.message, /chain\.0/);
    }
    const s = await d.request(methods.status.method);
    assert.deepEqual((s.result as Status).chain, CHAIN, 'nothing was stored');
  });

  it('setConfig validates folders: a filesystem root, a missing folder and a file are refused, naming the key', async () => {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'x');
    const models = path.join(dir, 'models');
    fs.mkdirSync(models, { recursive: true });
    const local = (dirs: string[]) => ({
      providers: [baseConfig.providers[0], { ...baseConfig.providers[1], modelsDirs: dirs }],
    });
    const cases: [string[], RegExp][] = [
      [['/'], /providers\.1\.modelsDirs\.0: "\/" is a filesystem root/],
      [[models, '/'], /providers\.1\.modelsDirs\.1: "\/" is a filesystem root/],
      [[path.join(dir, 'nope')], /providers\.1\.modelsDirs\.0: ".*nope" does not exist/],
      [[file], /providers\.1\.modelsDirs\.0: ".*a-file" is not a directory/],
      [[''], /providers\.1\.modelsDirs\.0: /],
    ];
    for (const [dirs, re] of cases) {
      const r = await d.request(methods.setConfig.method, local(dirs));
      assert.equal(r.error?.code, -32602, JSON.stringify(r));
      assert.match(r.error!.message, re);
      assert.equal((r.error!.data as { field?: string }).field?.startsWith('providers.1.modelsDirs.'), true);
    }
    const ok = await d.request(methods.setConfig.method, local([models]));
    assert.ok(ok.result, JSON.stringify(ok));
    // An unrelated change is not refused because of a folder that was accepted before.
    const again = await d.request(methods.setConfig.method, { maxRetries: 3 });
    assert.ok(again.result, JSON.stringify(again));
  });
});

describe('node IPC (how VS Code runs the daemon): malformed messages are answered', () => {
  let dir: string;
  before(() => {
    dir = tmpDir('backstop-hard-ipc-');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('every invalid message gets one error; valid requests and bad model ids are handled', async () => {
    const d = new RawIpc(['--config', writeConfig(dir, baseConfig), '--state-dir', path.join(dir, 'state')]);
    try {
      assert.deepEqual(((await d.request(methods.status.method)).result as Status).chain, CHAIN);
      const values: unknown[] = [42, 'text', null, true, [1, 2], [], { jsonrpc: '1.0' }, { jsonrpc: '2.0', id: {} }];
      const start = d.replies().length;
      for (let i = 0; i < 200; i++) await d.sendValue(values[i % values.length]);
      await d.until(() => d.replies().length >= start + 200, 10_000, '200 replies');
      const replies = d.replies().slice(start, start + 200);
      replies.forEach((r, i) => {
        const v = values[i % values.length];
        assert.equal(Array.isArray(r), Array.isArray(v) && v.length > 0, JSON.stringify(r));
        for (const e of errorsOf(r)) assert.equal(e.error?.code, -32600, JSON.stringify(r));
      });
      for (const id of BAD_IDS) {
        const r = await d.request(methods.setChain.method, { chain: [id] });
        assert.equal(r.error?.code, -32602, JSON.stringify(r));
      }
      assert.ok((await d.request(methods.getConfig.method)).result);
    } finally {
      await d.kill();
    }
  });

  it("VS Code's client path: initialize with settings over IPCMessageReader/Writer, requests, shutdown/exit", async () => {
    const d = new RawIpc(['--state-dir', path.join(dir, 'state2')]);
    const conn = createMessageConnection(new IPCMessageReader(d.child), new IPCMessageWriter(d.child));
    conn.listen();
    try {
      const init = await conn.sendRequest<{ serverInfo: { name: string } }>('initialize', {
        processId: process.pid,
        capabilities: {},
        initializationOptions: { config: baseConfig },
      });
      assert.equal(init.serverInfo.name, 'backstop');
      await conn.sendNotification('initialized', {});
      assert.deepEqual((await conn.sendRequest<Status>(methods.status.method)).chain, CHAIN);
      await assert.rejects(
        conn.sendRequest(methods.setChain.method, { chain: ['local/../x'] }),
        (e: { code: number }) => {
          return e.code === -32602;
        },
      );
      await conn.sendRequest('shutdown');
      await conn.sendNotification('exit');
      assert.equal(await d.exited, 0);
    } finally {
      conn.dispose();
      await d.kill();
    }
  });

  it('initialize with settings naming a filesystem root as a models folder fails with the key', async () => {
    const d = new RawIpc(['--state-dir', path.join(dir, 'state3')]);
    try {
      const cfg = { providers: [{ id: 'local', type: 'local', modelsDirs: ['/'] }] };
      const r = await d.request('initialize', {
        processId: null,
        capabilities: {},
        initializationOptions: { config: cfg },
      });
      assert.equal(r.error?.code, -32602, JSON.stringify(r));
      assert.match(r.error!.message, /providers\.0\.modelsDirs\.0: "\/" is a filesystem root/);
    } finally {
      await d.kill();
    }
  });
});

/** A raw HTTP request with any Host header. */
function rawRequest(
  port: number,
  opts: { method?: string; path: string; host?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.host !== undefined) headers.host = opts.host;
    const req = http.request(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A WebSocket upgrade with any Host header: the HTTP status it got (101 when opened). */
function wsStatus(port: number, host: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { headers: { host, authorization: `Bearer ${token}` } });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
}

describe('Host header on HTTP and WebSocket (DNS rebinding)', () => {
  let dir: string;
  let d: Spawned;
  let info: DaemonInfo;
  let fault: FaultServer;
  before(async () => {
    fault = await startFaultServer();
    dir = tmpDir('backstop-hard-host-');
    const config = {
      providers: [{ id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1`, models: ['ok'] }],
      chain: ['fault/ok'],
      server: { allowedHosts: ['backstop.test', 'proxy.local:8443'] },
    };
    d = spawnCli([
      'serve',
      '--ws',
      '0',
      '--http',
      '0',
      '--config',
      writeConfig(dir, config),
      '--state-dir',
      path.join(dir, 'state'),
    ]);
    info = await waitForDaemonFile(path.join(dir, 'state'), d);
  });
  after(async () => {
    await d.kill();
    await fault.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('HTTP: loopback names with the bound port and allowed hosts are served; anything else is 421', async () => {
    const port = info.httpPort!;
    const auth = { authorization: `Bearer ${info.token}` };
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `LOCALHOST:${port}`,
      `[::1]:${port}`,
      'backstop.test',
      'backstop.test:1234',
      'proxy.local:8443',
    ]) {
      const r = await rawRequest(port, { path: '/v1/models', host, headers: auth });
      assert.equal(r.status, 200, `${host}: ${r.body}`);
    }
    for (const host of [
      'evil.example',
      `evil.example:${port}`,
      `127.0.0.1:${port + 1}`,
      '127.0.0.1',
      `localhost.:${port}`,
      'proxy.local:9',
      `127.0.0.1:${port}@evil`,
    ]) {
      const r = await rawRequest(port, { path: '/v1/models', host, headers: auth });
      assert.equal(r.status, 421, `${JSON.stringify(host)}: ${r.status} ${r.body}`);
      const body = JSON.parse(r.body) as { error: { message: string; code: string } };
      assert.equal(body.error.code, 'misdirected_request');
      assert.match(body.error.message, /misdirected request: (Host|no Host)/);
      assert.match(body.error.message, /server\.allowedHosts/);
    }
    // HTTP/1.0 may leave the Host out: refused too.
    const noHost = await new Promise<string>((resolve, reject) => {
      let text = '';
      const sock = net.connect(port, '127.0.0.1', () =>
        sock.end(`GET /v1/models HTTP/1.0\r\nAuthorization: Bearer ${info.token}\r\n\r\n`),
      );
      sock.on('data', (c: Buffer) => (text += c.toString()));
      sock.on('end', () => resolve(text));
      sock.on('error', reject);
    });
    assert.match(noHost, /^HTTP\/1\.[01] 421/);
    assert.match(noHost, /no Host header/);
    // Checked before the token: a rebinding page learns nothing about it.
    const noToken = await rawRequest(port, { method: 'POST', path: '/rpc', host: 'evil.example', body: '{}' });
    assert.equal(noToken.status, 421);
  });

  it('WebSocket: the upgrade is refused with 421 for a foreign Host, accepted for loopback', async () => {
    const port = info.wsPort!;
    assert.equal(await wsStatus(port, `127.0.0.1:${port}`, info.token), 101);
    assert.equal(await wsStatus(port, `localhost:${port}`, info.token), 101);
    assert.equal(await wsStatus(port, 'evil.example', info.token), 421);
    assert.equal(await wsStatus(port, `evil.example:${port}`, info.token), 421);
    assert.equal(await wsStatus(port, `127.0.0.1:${port + 1}`, info.token), 421);
  });

  it('setChain refuses bad model ids over WebSocket and POST /rpc', async () => {
    const c = await WsClient.open(info.wsPort!, { authorization: `Bearer ${info.token}` });
    try {
      for (const id of BAD_IDS) {
        await assert.rejects(c.request(methods.setChain, { chain: [id] }), (e: { code: number }) => e.code === -32602);
      }
    } finally {
      c.close();
    }
    for (const id of BAD_IDS) {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: methods.setChain.method, params: { chain: [id] } });
      const r = await rawRequest(info.httpPort!, {
        method: 'POST',
        path: '/rpc',
        headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
        body,
      });
      assert.equal((JSON.parse(r.body) as Reply).error?.code, -32602, r.body);
    }
  });

  it('the gateway answers 400 for model "wall/" and creates no circuit for it', async () => {
    const headers = { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' };
    for (const model of ['wall/', 'local/../../etc/passwd', 'fault/\u0000x']) {
      const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] });
      const r = await rawRequest(info.httpPort!, { method: 'POST', path: '/v1/chat/completions', headers, body });
      assert.equal(r.status, 400, `${model}: ${r.body}`);
      assert.match(r.headers['content-type'] ?? '', /json/);
    }
    const health = await rawRequest(info.httpPort!, {
      method: 'POST',
      path: '/rpc',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: methods.health.method }),
    });
    const perModel = ((JSON.parse(health.body) as { result: HealthReport }).result.perModel ?? {}) as Record<
      string,
      unknown
    >;
    assert.deepEqual(
      Object.keys(perModel).filter((k) => k.startsWith('wall') || k.includes('..') || k.includes('\u0000')),
      [],
    );
  });
});

describe('allowedHosts on a WebSocket listener', () => {
  it('an allowed host is accepted, others get 421', async () => {
    const table: Table = { has: () => false, call: () => Promise.resolve(null) };
    const opts = {
      port: 0,
      host: '127.0.0.1',
      token: 'allowed-hosts-token-0123',
      allowedOrigins: () => [],
      allowedHosts: () => ['rebind.test:443', 'name.test'],
      maxBytes: () => 1024 * 1024,
    };
    const ws = await startWsServer(table, new PeerSet(), opts, nullLogger);
    try {
      assert.equal(await wsStatus(ws.port, 'rebind.test:443', opts.token), 101);
      assert.equal(await wsStatus(ws.port, 'name.test:1', opts.token), 101);
      assert.equal(await wsStatus(ws.port, 'rebind.test:80', opts.token), 421);
      assert.equal(await wsStatus(ws.port, 'other.test', opts.token), 421);
    } finally {
      await ws.close();
    }
  });
});

describe('config files that are not an object of keys', () => {
  for (const [name, text, file] of [
    ['null (JSON)', 'null', 'c.json'],
    ['null (YAML)', 'null\n', 'c.yaml'],
    ['an empty YAML file', '# only a comment\n', 'c.yml'],
    ['an array', '[1, 2]', 'c.json'],
    ['a number', '42', 'c.json'],
  ] as const) {
    it(`${name}: the daemon refuses to start, naming the file`, async () => {
      const dir = tmpDir('backstop-hard-cfg-');
      try {
        const cfg = writeConfig(dir, text, file);
        const s = spawnCli(['serve', '--stdio', '--config', cfg, '--state-dir', path.join(dir, 'state')]);
        assert.notEqual(await s.exited, 0);
        assert.ok(s.stderr().includes(cfg), s.stderr());
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('a config file naming a filesystem root as a models folder is refused with the key', async () => {
    const dir = tmpDir('backstop-hard-cfg-');
    try {
      const cfg = writeConfig(dir, { providers: [{ id: 'local', type: 'local', modelsDirs: ['/'] }] });
      const s = spawnCli(['serve', '--stdio', '--config', cfg, '--state-dir', path.join(dir, 'state')]);
      assert.notEqual(await s.exited, 0);
      assert.match(s.stderr(), /providers\.0\.modelsDirs\.0: "\/" is a filesystem root/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
