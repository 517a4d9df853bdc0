// The one JSON-RPC stack: the daemon's WebSocket and POST /rpc transports (vscode-jsonrpc over the
// frame reader/writer) against a stub handler table, and the CLI's connection to them — random
// garbage frames, batches, $/cancelRequest from Ctrl-C and timeouts.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { RequestType, type NotificationType } from 'vscode-languageserver-protocol';
import { cancelOnInterrupt, RequestTimeoutError, wsConnection } from '../../server/cli/connection';
import { EXIT_CANCELLED } from '../../server/cli/exitCodes';
import { nullLogger } from '../../server/core/types';
import { writeDaemonFile } from '../../server/state/daemonFile';
import { PeerSet, type CallContext } from '../../server/rpc/handlerTable';
import { RpcError } from '../../server/rpc/rpcError';
import type { GatewayDeps } from '../../server/gateway/deps';
import { startHttpServer } from '../../server/transports/httpServer';
import type { Table } from '../../server/transports/serveTable';
import { startWsServer } from '../../server/transports/wsServer';
import { spawnCli, tmpDir, WsClient } from '../helpers/daemon';
import { FUZZ_RUNS, fuzzOptions, garbageFrame, parseOrUndefined } from '../helpers/fuzz';

const TOKEN = 'stack-test-token-0123456789';
const note: NotificationType<unknown> = { method: 'test/note' } as NotificationType<unknown>;
const echo = new RequestType<unknown, unknown, void>('test/echo');
const slow = new RequestType<unknown, unknown, void>('test/slow');

/** A handler table stub: echo, a slow method that only ends when aborted, a method that notifies. */
class StubTable implements Table {
  readonly aborts: string[] = [];
  private waiters: (() => void)[] = [];
  started = 0;
  readonly names = new Set(['test/echo', 'test/slow', 'test/notify', 'backstop/status']);

  has(method: string): boolean {
    return this.names.has(method);
  }

  async call(method: string, params: unknown, ctx: CallContext): Promise<unknown> {
    if (method === 'test/echo') return { echo: params ?? null };
    if (method === 'test/notify') {
      ctx.peer.notify(note, params);
      return 'sent';
    }
    if (method === 'test/slow' || method === 'backstop/status') {
      this.started++;
      for (const w of this.waiters.splice(0)) w();
      return new Promise((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          const reason = ctx.signal.reason as Error;
          this.aborts.push(reason.message);
          reject(reason);
        });
      });
    }
    throw new RpcError(-32601, `method not found: ${method}`);
  }

  /** Resolves once a slow call has started (at least `n` in all). */
  async startedAtLeast(n: number): Promise<void> {
    while (this.started < n) await new Promise<void>((r) => this.waiters.push(r));
  }

  /** Resolves once `n` slow calls have been aborted. */
  async abortedAtLeast(n: number, timeoutMs = 5000): Promise<void> {
    const t0 = Date.now();
    while (this.aborts.length < n) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`only ${this.aborts.length} aborts after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

type Reply = {
  jsonrpc: '2.0';
  id: string | number | null;
  result?: unknown;
  error?: { code: number; message: string };
};

describe('JSON-RPC stack over WebSocket', () => {
  const table = new StubTable();
  const peers = new PeerSet();
  let ws: { port: number; close(): Promise<void> };
  const open = () => WsClient.open(ws.port, { authorization: `Bearer ${TOKEN}` });
  before(async () => {
    const opts = { port: 0, host: '127.0.0.1', token: TOKEN, allowedOrigins: () => [], maxBytes: () => 64 * 1024 };
    ws = await startWsServer(table, peers, opts, nullLogger);
  });
  after(async () => {
    await ws.close();
  });

  // FUZZ_RUNS frames in all (2,000 in the suite), in batches; after each batch a valid request is answered.
  it('random garbage frames get exactly one error each; a valid request after each batch is answered', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(garbageFrame, { minLength: 100, maxLength: 100 }), async (frames) => {
        const c = await open();
        try {
          for (const f of frames) c.ws.send(f);
          // Garbage is answered as it arrives, so once the echo is back every garbage reply is in. Its id
          // is one no garbage frame can carry (a garbage {"id":1} is answered with id 1).
          const after = `after-garbage-${crypto.randomBytes(8).toString('hex')}`;
          c.ws.send(JSON.stringify({ jsonrpc: '2.0', id: after, method: 'test/echo', params: { after: 'garbage' } }));
          const t0 = Date.now();
          while (c.raw.length <= frames.length && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 2));
          const last = c.raw[frames.length] as Reply;
          assert.deepEqual([last.id, last.result], [after, { echo: { after: 'garbage' } }]);
          const replies = c.raw.slice(0, -1) as (Reply | Reply[])[];
          assert.equal(replies.length, frames.length, 'one reply per frame');
          replies.forEach((r, i) => {
            const parsed = parseOrUndefined(frames[i]!);
            const batch = Array.isArray(parsed) && parsed.length > 0;
            const errors = batch ? (r as Reply[]) : [r as Reply];
            assert.equal(Array.isArray(r), batch, `frame ${JSON.stringify(frames[i])}: ${JSON.stringify(r)}`);
            if (batch) assert.equal(errors.length, (parsed as unknown[]).length);
            for (const e of errors) {
              assert.ok(e.error && [-32700, -32600].includes(e.error.code), JSON.stringify(r));
              assert.ok(e.id === null || typeof e.id === 'string' || typeof e.id === 'number');
            }
          });
        } finally {
          c.close();
        }
      }),
      fuzzOptions(Math.ceil(FUZZ_RUNS / 100)),
    );
  });

  it('a batch is answered with one array: results, errors and nothing for notifications', async () => {
    const c = await open();
    try {
      const batch = [
        { jsonrpc: '2.0', id: 1, method: 'test/echo', params: { n: 1 } },
        42,
        { jsonrpc: '2.0', method: 'test/echo', params: { n: 'notification' } },
        { jsonrpc: '2.0', id: 'x', method: 'test/nope' },
        { jsonrpc: '2.0', id: 1, method: 'test/echo', params: { n: 'same id again' } },
      ];
      c.ws.send(JSON.stringify(batch));
      const reply = (await c.nextRaw()) as Reply[];
      assert.ok(Array.isArray(reply), JSON.stringify(reply));
      assert.equal(reply.length, 4);
      const byResult = reply.filter((r) => r.result !== undefined).map((r) => [r.id, r.result]);
      assert.deepEqual(
        byResult.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
        [
          [1, { echo: { n: 'same id again' } }],
          [1, { echo: { n: 1 } }],
        ],
      );
      assert.deepEqual(reply.find((r) => r.id === null)?.error?.code, -32600);
      assert.deepEqual(reply.find((r) => r.id === 'x')?.error?.code, -32601);
    } finally {
      c.close();
    }
  });

  it('notifications to the peer arrive on its own connection', async () => {
    const c = await open();
    try {
      assert.equal(await c.request({ method: 'test/notify' }, { hello: 'you' }), 'sent');
      assert.deepEqual(await c.waitFor(note), { hello: 'you' });
    } finally {
      c.close();
    }
  });

  it('a timed-out request rejects with a clear message and is cancelled on the daemon', async () => {
    const conn = await wsConnection(ws.port, TOKEN, 300);
    const aborted = table.aborts.length;
    try {
      const t0 = Date.now();
      await assert.rejects(conn.request(slow, {}), (e: Error) => {
        assert.ok(e instanceof RequestTimeoutError, String(e));
        assert.match(e.message, /test\/slow: no answer from the daemon within 300 ms/);
        assert.match(e.message, /BACKSTOP_RPC_TIMEOUT_MS/);
        return true;
      });
      assert.ok(Date.now() - t0 < 2000);
      await table.abortedAtLeast(aborted + 1);
      assert.equal(table.aborts.at(-1), 'request cancelled', '$/cancelRequest reached the handler');
      assert.deepEqual(await conn.request(echo, { still: 'open' }), { echo: { still: 'open' } });
      assert.equal(conn.inFlight(), 0);
    } finally {
      await conn.close();
    }
  });

  it('Ctrl-C in the client sends $/cancelRequest; the request fails as cancelled', async () => {
    const conn = await wsConnection(ws.port, TOKEN);
    const exits: number[] = [];
    const release = cancelOnInterrupt(conn, (code) => exits.push(code));
    const aborted = table.aborts.length;
    const started = table.started;
    try {
      const pending = conn.request(slow, {});
      await table.startedAtLeast(started + 1);
      process.emit('SIGINT');
      await assert.rejects(pending, (e: RpcError) => e instanceof RpcError && e.code === -32800);
      await table.abortedAtLeast(aborted + 1);
      assert.equal(table.aborts.at(-1), 'request cancelled');
      assert.deepEqual(exits, [], 'the first Ctrl-C cancels, it does not exit');
      process.emit('SIGINT');
      assert.deepEqual(exits, [EXIT_CANCELLED], 'with nothing in flight, Ctrl-C exits as cancelled');
    } finally {
      release();
      await conn.close();
    }
  });

  it('the built CLI: SIGINT during a request cancels it on the daemon and exits with the cancelled code', async () => {
    const dir = tmpDir('backstop-stack-');
    writeDaemonFile(path.join(dir, 'state'), { pid: process.pid, version: 'test', wsPort: ws.port, token: TOKEN });
    const aborted = table.aborts.length;
    const started = table.started;
    const cli = spawnCli(['status', '--state-dir', path.join(dir, 'state')]);
    try {
      await table.startedAtLeast(started + 1);
      cli.child.kill('SIGINT');
      assert.equal(await cli.exited, EXIT_CANCELLED, cli.stderr());
      assert.match(cli.stderr(), /cancelled/);
      await table.abortedAtLeast(aborted + 1);
      assert.equal(table.aborts.at(-1), 'request cancelled', 'aborted by $/cancelRequest, not by the hang-up');
    } finally {
      await cli.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('JSON-RPC stack over POST /rpc', () => {
  const table = new StubTable();
  let http: { port: number; close(): Promise<void> };
  const services = { state: { config: { server: { allowedOrigins: [], maxMessageBytes: 64 * 1024 } } } };
  const post = (body: string, signal?: AbortSignal) =>
    fetch(`http://127.0.0.1:${http.port}/rpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body,
      ...(signal ? { signal } : {}),
    });
  before(async () => {
    const opts = { port: 0, host: '127.0.0.1', token: TOKEN };
    http = await startHttpServer(table, { services } as unknown as GatewayDeps, opts, nullLogger);
  });
  after(async () => {
    await http.close();
  });

  it('concurrent bodies with the same id each get their own answer', async () => {
    const bodies = [1, 2, 3, 4, 5].map((n) =>
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'test/echo', params: { n } }),
    );
    const replies = await Promise.all(bodies.map(async (b) => (await (await post(b)).json()) as Reply));
    assert.deepEqual(
      replies.map((r) => [r.id, r.result]),
      [1, 2, 3, 4, 5].map((n) => [1, { echo: { n } }]),
    );
  });

  it('garbage, batches and notifications', async () => {
    const parse = (await (await post('{')).json()) as Reply;
    assert.equal(parse.error?.code, -32700);
    assert.equal(parse.id, null);
    const empty = (await (await post('[]')).json()) as Reply;
    assert.equal(empty.error?.code, -32600);
    const batch = (await (
      await post(JSON.stringify([{ jsonrpc: '2.0', id: 'a', method: 'test/echo' }, { jsonrpc: '2.0' }]))
    ).json()) as Reply[];
    assert.deepEqual(
      batch.map((r) => [r.id, r.result ?? r.error?.code]),
      [
        [null, -32600],
        ['a', { echo: null }],
      ],
    );
    const n = await post(JSON.stringify({ jsonrpc: '2.0', method: 'test/echo' }));
    assert.equal(n.status, 204);
  });

  it('random garbage bodies: one error answer each (200, JSON-RPC error); a valid body after each is answered', async () => {
    await fc.assert(
      fc.asyncProperty(garbageFrame, async (body) => {
        const r = await post(body);
        assert.equal(r.status, 200, body);
        const reply = (await r.json()) as Reply | Reply[];
        const parsed = parseOrUndefined(body);
        const batch = Array.isArray(parsed) && parsed.length > 0;
        assert.equal(Array.isArray(reply), batch, `${JSON.stringify(body)} → ${JSON.stringify(reply)}`);
        if (batch) assert.equal((reply as Reply[]).length, (parsed as unknown[]).length);
        for (const e of Array.isArray(reply) ? reply : [reply]) {
          assert.ok(e.error && [-32700, -32600].includes(e.error.code), JSON.stringify(reply));
          assert.ok(e.id === null || typeof e.id === 'string' || typeof e.id === 'number');
        }
      }),
      fuzzOptions(),
    );
    const ok = (await (
      await post(JSON.stringify({ jsonrpc: '2.0', id: 'after', method: 'test/echo' }))
    ).json()) as Reply;
    assert.deepEqual([ok.id, ok.result], ['after', { echo: null }]);
  });

  it("a $/cancelRequest in one body cannot reach another body's request", async () => {
    const aborted = table.aborts.length;
    const started = table.started;
    const ac = new AbortController();
    const pending = post(JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'test/slow' }), ac.signal).catch(() => 'gone');
    await table.startedAtLeast(started + 1);
    const cancel = await post(JSON.stringify({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: 5 } }));
    assert.equal(cancel.status, 204);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(table.aborts.length, aborted, 'still running');
    ac.abort();
    assert.equal(await pending, 'gone');
    await table.abortedAtLeast(aborted + 1);
  });

  it('a caller that hangs up cancels its request', async () => {
    const aborted = table.aborts.length;
    const ac = new AbortController();
    const started = table.started;
    const body = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'test/slow' });
    const pending = post(body, ac.signal).catch(() => 'gone');
    await table.startedAtLeast(started + 1);
    ac.abort();
    await table.abortedAtLeast(aborted + 1);
    assert.equal(table.aborts.at(-1), 'request cancelled');
    assert.equal(await pending, 'gone');
  });
});
