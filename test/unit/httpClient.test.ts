// The providers' HTTP client (node:http keep-alive agents) against a loopback server that holds a
// body open after the answer is complete: the answer returns at once, the rest drains so the
// connection is reused, and a reset or an abort while it drains never crashes the process.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createCloudProvider } from '../../server/providers/cloud';

const sse = (o: unknown): string => `data: ${JSON.stringify(o)}\n\n`;
const COMPLETE_ANSWER =
  sse({ choices: [{ index: 0, delta: { content: 'hello' }, finish_reason: null }] }) +
  sse({
    choices: [{ index: 0, delta: {}, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1 },
  });

type Tail = 'end' | 'reset' | 'hold';

/** Sends a complete answer without [DONE], then ends, resets or holds the body when told to. */
async function server() {
  const sockets = new Set<import('node:net').Socket>();
  let connections = 0;
  const open: { res: http.ServerResponse; tail: Tail }[] = [];
  const srv = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(COMPLETE_ANSWER);
    open.push({ res, tail: 'hold' });
  });
  srv.on('connection', (s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    connections: () => connections,
    /** End (with [DONE]) or reset every body still open; resolves when the server side is done. */
    finish: async (tail: Exclude<Tail, 'hold'>) => {
      for (const o of open.splice(0)) {
        const done = new Promise((r) => o.res.once('close', r));
        if (tail === 'end') o.res.end('data: [DONE]\n\n');
        else o.res.socket?.destroy();
        await done;
      }
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

function provider(baseUrl: string) {
  return createCloudProvider({ id: 'p', type: 'openai-compatible', baseUrl }, { getApiKey: () => undefined });
}

/** Resolves on the next turns of the event loop: long enough for socket events already queued. */
const settle = () => new Promise((r) => setTimeout(r, 20));

test('a complete answer returns while the body is still open; the drained connection is reused', async () => {
  const s = await server();
  try {
    const p = provider(s.baseUrl);
    const r = await p.generate({ model: 'm', prompt: 'x' }, { signal: new AbortController().signal });
    assert.equal(r.text, 'hello');
    assert.equal(r.finishReason, 'stop');
    await s.finish('end');
    await settle();
    const again = await p.generate({ model: 'm', prompt: 'x' }, { signal: new AbortController().signal });
    assert.equal(again.text, 'hello');
    assert.equal(s.connections(), 1, 'the second request went over the first one’s connection');
    await s.finish('end');
  } finally {
    await s.close();
  }
});

/** Runs `body` against a fresh server; fails if anything reached uncaughtException meanwhile. */
async function withoutCrash(body: (s: Awaited<ReturnType<typeof server>>) => Promise<void>): Promise<void> {
  const s = await server();
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    await body(s);
    await settle();
    assert.deepEqual(uncaught, []);
  } finally {
    process.off('uncaughtException', onUncaught);
    await s.close();
  }
}

test('a reset of a body that drains after a complete answer does not crash the process', () =>
  withoutCrash(async (s) => {
    const r = await provider(s.baseUrl).generate({ model: 'm', prompt: 'x' }, { signal: new AbortController().signal });
    assert.equal(r.text, 'hello');
    await s.finish('reset');
  }));

test('an abort of the request while its body drains does not crash the process', () =>
  withoutCrash(async (s) => {
    const ac = new AbortController();
    const r = await provider(s.baseUrl).generate({ model: 'm', prompt: 'x' }, { signal: ac.signal });
    assert.equal(r.text, 'hello');
    ac.abort(new Error('request finished'));
  }));
