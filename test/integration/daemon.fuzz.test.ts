// Property-based tests (fast-check) against the built daemon (issue 15): LSP-framed stdio streams
// mixing valid requests, bad bodies, bad headers and noise; random values over node IPC; random
// bodies to the HTTP gateway. Every valid request is answered, every malformed frame answered as
// JSON-RPC 2.0 says, the gateway always gives a 2xx/4xx JSON answer, and after each batch the daemon
// still answers a valid request. FUZZ_RUNS sets the cases (2,000 here; `npm run fuzz` for more).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { methods } from '../../protocol/index';
import type { Status } from '../../protocol/types';
import { startFaultServer, type FaultServer } from '../fixtures/faultServer';
import { tmpDir, waitForDaemonFile, writeConfig, type DaemonInfo } from '../helpers/daemon';
import {
  chunked,
  expectedFramingErrors,
  fuzzOptions,
  FUZZ_RUNS,
  garbageFrame,
  lspStream,
  repliesToGarbage,
  wellFormedResponse,
} from '../helpers/fuzz';
import { RawIpc, RawStdio, type Reply } from '../helpers/rawLsp';

const VALID_METHODS = [methods.getConfig.method, 'backstop/noSuchMethod'];
const isFramingError = (r: Reply | Reply[]) =>
  !Array.isArray(r) && r.id === null && /^unreadable LSP (header|frame)/.test(r.error?.message ?? '');

/** Wall-clock figures for the closing note, printed once per property. */
function report(name: string, cases: number, t0: number): void {
  console.log(`# fuzz ${name}: ${cases} cases in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

let fault: FaultServer;
let dir: string;
let stdio: RawStdio;
let info: DaemonInfo;

before(async () => {
  fault = await startFaultServer({ chunkDelayMs: 0 });
  dir = tmpDir('backstop-fuzz-');
  const config = {
    providers: [{ id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1`, models: ['ok'] }],
    chain: ['fault/ok'],
    maxRetries: 0,
    circuit: { failureThreshold: 1000, minRequests: 1000 },
  };
  stdio = new RawStdio(['--http', '0', '--config', writeConfig(dir, config), '--state-dir', path.join(dir, 'state')]);
  info = await waitForDaemonFile(path.join(dir, 'state'), stdio.proc);
});

after(async () => {
  await stdio.kill();
  await fault.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function stillServing(): Promise<void> {
  const r = await stdio.request(methods.status.method);
  assert.deepEqual((r.result as Status).chain, ['fault/ok'], JSON.stringify(r));
  assert.equal(stdio.proc.child.exitCode, null, 'the daemon is running');
}

describe('fuzz: JSON-RPC over stdio with LSP framing', () => {
  it('random streams: valid requests answered, bad bodies and headers answered once each, resync', async () => {
    const t0 = Date.now();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(lspStream(VALID_METHODS), fc.array(fc.nat(), { maxLength: 6 }), async (items, cuts) => {
        n++;
        stdio.reset();
        for (const c of chunked(Buffer.concat(items.map((i) => i.bytes)), cuts)) await stdio.write(c);
        // The request after the batch is answered: the stream is readable again.
        const last = await stdio.request(methods.getConfig.method);
        assert.ok(last.result, JSON.stringify(last));
        let garbageReplies = 0;
        const valid = items.filter((i) => i.kind === 'valid');
        for (const i of items) if (i.kind === 'badBody') garbageReplies += repliesToGarbage(i.body, true);
        const framing = expectedFramingErrors(items);
        const expected = valid.length + garbageReplies + framing + 1;
        const replies = () => stdio.received.filter((m) => Array.isArray(m) || m.method === undefined);
        await stdio.until(() => replies().length >= expected, 10_000, `${expected} replies`);
        const got = replies();
        for (const v of valid) {
          const answers = got.filter((r): r is Reply => !Array.isArray(r) && r.id === v.id);
          assert.equal(answers.length, 1, `request ${v.id} answered once`);
          if (v.method === methods.getConfig.method) assert.ok(answers[0]!.result);
          else assert.equal(answers[0]!.error?.code, -32601);
        }
        assert.equal(got.filter(isFramingError).length, framing, 'framing errors');
        for (const r of got.filter(isFramingError)) assert.ok([-32700, -32006].includes((r as Reply).error!.code));
        // Give a straggler a moment to show itself: there must be exactly as many replies as expected.
        await new Promise((r) => setImmediate(r));
        assert.equal(replies().length, expected, JSON.stringify(replies().slice(-5)));
      }),
      fuzzOptions(),
    );
    report('stdio LSP streams', n, t0);
    await stillServing();
  });
});

describe('fuzz: JSON-RPC over node IPC', () => {
  let ipc: RawIpc;
  before(() => {
    ipc = new RawIpc(['--state-dir', path.join(dir, 'ipc-state')]);
  });
  after(async () => {
    await ipc.kill();
  });

  it('random values are answered with one error each (none for well-formed responses)', async () => {
    const t0 = Date.now();
    let n = 0;
    const value = fc.oneof(
      fc.jsonValue(),
      garbageFrame.map((t) => {
        try {
          return JSON.parse(t) as unknown;
        } catch {
          return t;
        }
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 10 }), async (values) => {
        n++;
        ipc.reset();
        for (const v of values) await ipc.sendValue(v);
        const last = await ipc.request(methods.getConfig.method);
        assert.ok(last.result, JSON.stringify(last));
        const answered = (v: unknown) => {
          if (Array.isArray(v)) return v.length === 0 || !v.every(wellFormedResponse);
          return !wellFormedResponse(v) && !isRunnableNotification(v);
        };
        const expected = values.filter(answered).length + 1;
        const replies = () => ipc.received.filter((m) => Array.isArray(m) || m.method === undefined);
        await ipc.until(() => replies().length >= expected, 10_000, `${expected} replies`);
        await new Promise((r) => setImmediate(r));
        assert.equal(replies().length, expected);
      }),
      fuzzOptions(),
    );
    report('node IPC values', n, t0);
    assert.ok((await ipc.request(methods.status.method)).result);
  });
});

/** A JSON value vscode-jsonrpc would take as a notification (fc.jsonValue can, rarely, make one). */
function isRunnableNotification(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return o.jsonrpc === '2.0' && typeof o.method === 'string' && !('id' in o);
}

describe('fuzz: HTTP gateway bodies', () => {
  const model = fc.oneof(
    fc.constantFrom('backstop', 'fault/ok', 'wall/', 'x', '', 'fault/../x', 'nope/a', 'chain:none', 'fault/\u0000x'),
    fc.string({ maxLength: 12 }),
  );
  const message = fc.record(
    {
      role: fc.oneof(fc.constantFrom('system', 'user', 'assistant', 'developer'), fc.string({ maxLength: 8 })),
      content: fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.constant(null),
        fc.array(fc.record({ type: fc.constantFrom('text', 'image_url'), text: fc.string({ maxLength: 10 }) })),
        fc.jsonValue({ maxDepth: 2 }),
      ),
    },
    { requiredKeys: [] },
  );
  const chatLike = fc.record(
    {
      model,
      models: fc.oneof(fc.array(model, { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
      messages: fc.oneof(fc.array(message, { minLength: 1, maxLength: 3 }), fc.jsonValue({ maxDepth: 2 })),
      prompt: fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 })),
      stream: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 1 })),
      max_tokens: fc.oneof(fc.integer({ min: -5, max: 200_000 }), fc.jsonValue({ maxDepth: 1 })),
      temperature: fc.oneof(fc.double({ noNaN: true }), fc.jsonValue({ maxDepth: 1 })),
      n: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(null)),
      stop: fc.oneof(
        fc.string({ maxLength: 5 }),
        fc.array(fc.string(), { maxLength: 20 }),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      extra: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    { arbitrary: chatLike.map((o) => JSON.stringify(o)), weight: 6 },
    { arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)), weight: 2 },
    { arbitrary: fc.string({ maxLength: 40 }), weight: 1 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 1 },
  );

  it('POST /v1/chat/completions and /v1/completions: always a 2xx or 4xx JSON answer, never a 5xx or a hang', async () => {
    const t0 = Date.now();
    let n = 0;
    const base = `http://127.0.0.1:${info.httpPort}`;
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('/v1/chat/completions', '/v1/completions'), async (text, route) => {
        n++;
        const r = await fetch(base + route, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${info.token}` },
          body: text,
          signal: AbortSignal.timeout(15_000),
        });
        const type = r.headers.get('content-type') ?? '';
        const answer = await r.text();
        const where = `${route} ${JSON.stringify(text)} → ${r.status} ${answer.slice(0, 300)}`;
        assert.ok((r.status >= 200 && r.status < 300) || (r.status >= 400 && r.status < 500), where);
        if (/text\/event-stream/.test(type)) {
          assert.equal(r.status, 200, where);
          assert.match(answer, /data: \[DONE\]/, where);
          return;
        }
        assert.match(type, /application\/json/, where);
        const parsed = JSON.parse(answer) as { error?: { message?: unknown } };
        if (r.status >= 400) assert.equal(typeof parsed.error?.message, 'string', where);
      }),
      fuzzOptions(),
    );
    report('gateway bodies', n, t0);
    const ok = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${info.token}` },
      body: JSON.stringify({ model: 'backstop', messages: [{ role: 'user', content: 'hi' }] }),
    });
    assert.equal(ok.status, 200);
    await stillServing();
  });
});

describe('gateway: a request no model of the chain can hold', () => {
  const post = (body: unknown) =>
    fetch(`http://127.0.0.1:${info.httpPort}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${info.token}` },
      body: JSON.stringify(body),
    });

  it("a prompt beyond every context is the caller's 4xx, not a 500", async () => {
    // ~12,000 tokens by the 4-characters estimate, against contexts of 8,192: nothing can make it fit.
    const r = await post({ model: 'backstop', prompt: 'word '.repeat(9_600), max_tokens: 16 });
    assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${(await r.text()).slice(0, 500)}`);
  });

  it('max_tokens beyond the context is lowered to what fits (autoSwitch), and the trace says so', async () => {
    const r = await post({ model: 'backstop', prompt: 'hi', max_tokens: 8193 });
    const text = await r.text();
    assert.equal(r.status, 200, text.slice(0, 500));
    const body = JSON.parse(text) as { backstop: { attempts: { message?: string }[] } };
    assert.match(body.backstop.attempts.at(-1)?.message ?? '', /maxTokens lowered from 8193/);
  });
});

if (FUZZ_RUNS > 2000) console.log(`# fuzz: FUZZ_RUNS=${FUZZ_RUNS}`);
