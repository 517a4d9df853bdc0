// A gateway client that hangs up cancels its request: the upstream call is closed at once (not left to
// wait on a model that never answers), the daemon counts no request in flight and no failure, and it goes
// on serving. Both gateways, streamed and not, through the BUILT daemon against the loopback fault server.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { FAULT_MODELS, type FaultServer, startFaultServer } from '../fixtures/faultServer';
import { faultConfig, type GatewayDaemon, startGatewayDaemon } from '../helpers/gatewayDaemon';

interface Status {
  inFlight?: number;
}
interface Stats {
  totalRequests: number;
  failedRequests?: number;
}

let fault: FaultServer;
let gw: GatewayDaemon;
let n = 0;
/** A model that takes the request and never answers. */
const SILENT = () => `${FAULT_MODELS.silent}+c${++n}`;

before(async () => {
  fault = await startFaultServer();
  // Deadlines far beyond the test: only the client's hang-up can end these requests.
  gw = await startGatewayDaemon(
    faultConfig(fault, { firstTokenTimeoutMs: 60_000, timeoutMs: 60_000, requestTimeoutMs: 60_000 }),
  );
});
after(async () => {
  await gw.stop();
  await fault.close();
});

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(v)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Send `body` to `path` and leave it open; the returned function hangs up. */
function openRequest(path: string, body: unknown): () => void {
  const text = JSON.stringify(body);
  const req = http.request(`${gw.base}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
      authorization: `Bearer ${gw.token}`,
      'x-api-key': gw.token,
      'anthropic-version': '2023-06-01',
    },
  });
  req.on('error', () => {}); // the hang-up itself
  req.end(text);
  return () => req.destroy();
}

const CASES = [
  {
    name: 'OpenAI chat, not streamed',
    path: '/v1/chat/completions',
    body: (m: string) => ({ model: `fault/${m}`, messages: [{ role: 'user', content: 'hi' }] }),
  },
  {
    name: 'OpenAI chat, streamed',
    path: '/v1/chat/completions',
    body: (m: string) => ({ model: `fault/${m}`, messages: [{ role: 'user', content: 'hi' }], stream: true }),
  },
  {
    name: 'Anthropic messages, not streamed',
    path: '/v1/messages',
    body: (m: string) => ({ model: `fault/${m}`, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] }),
  },
  {
    name: 'Anthropic messages, streamed',
    path: '/v1/messages',
    body: (m: string) => ({
      model: `fault/${m}`,
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    }),
  },
];

describe('gateway: a client that hangs up cancels its request', { concurrency: false }, () => {
  for (const c of CASES) {
    it(`${c.name}: the upstream call closes at once, nothing in flight, no failure counted`, async () => {
      const model = SILENT();
      const before = await gw.rpc<Stats>('backstop/stats');
      const hangUp = openRequest(c.path, c.body(model));
      // The request is at the upstream, waiting for an answer that never comes.
      await until(
        'the upstream call starts',
        async () => fault.attemptsFor(model).length,
        (k) => k === 1,
      );
      await until(
        'the daemon counts it in flight',
        () => gw.rpc<Status>('backstop/status'),
        (s) => s.inFlight === 1,
      );
      const t0 = Date.now();
      hangUp();
      const [attempt] = fault.attemptsFor(model);
      await until(
        'the upstream connection closes',
        async () => attempt!.closedEarlyAt,
        (at) => at !== undefined,
      );
      assert.ok(attempt!.closedEarlyAt! - t0 < 2_000, `closed ${attempt!.closedEarlyAt! - t0} ms after the hang-up`);
      await until(
        'nothing in flight',
        () => gw.rpc<Status>('backstop/status'),
        (s) => (s.inFlight ?? 0) === 0,
      );
      const after = await gw.rpc<Stats>('backstop/stats');
      assert.equal(after.failedRequests ?? 0, before.failedRequests ?? 0, 'a cancelled request is not a failure');
      assert.equal(fault.attemptsFor(model).length, 1, 'and it is not retried or sent to another model');
    });
  }

  it('the daemon goes on serving after the hang-ups', async () => {
    const r = await gw.post('/v1/chat/completions', {
      model: `fault/${FAULT_MODELS.ok}`,
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(r.status, 200);
    const j = (await r.json()) as { choices: { message: { content: string } }[] };
    assert.ok(j.choices[0]!.message.content.length > 0);
  });
});
