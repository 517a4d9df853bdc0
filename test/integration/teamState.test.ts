// Team state on a real Redis (issue 20): three gateway daemons share one redis-server started by the
// test. A circuit opened in one is respected by the others without a call to the failing upstream (the
// fault server's log proves it), one probe per interval across all three, a shared rate limit holds
// across them, and with Redis killed every request is still answered and state resynchronises after.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FAULT_MODELS, type FaultServer, startFaultServer } from '../fixtures/faultServer';
import { type GatewayDaemon, startGatewayDaemon } from '../helpers/gatewayDaemon';
import { type RedisServer, startRedis } from '../helpers/redisServer';

const FAILING = `fault/${FAULT_MODELS.error503Always}`;
const OK = `fault/${FAULT_MODELS.ok}`;
const COOLDOWN_MS = 1000;
const RPM = 5;

let redis: RedisServer;
let fault: FaultServer;
let daemons: GatewayDaemon[] = [];

interface CompleteResult {
  modelUsed: string;
}
interface CompleteUsage {
  modelUsed: string;
  usage: { promptTokens: number; completionTokens: number };
  attempts: { model: string; outcome: string; message?: string }[];
}
interface Status {
  budgets?: { provider: string; spentTokens: number; spentUsd: number; exceeded: boolean }[];
}
interface Health {
  perModel: Record<string, { state: string }>;
}

const complete = (d: GatewayDaemon, chain: string[]) =>
  d.rpc<CompleteResult>('backstop/complete', { prompt: 'hi', chain, maxTokens: 4 });
const stateOf = async (d: GatewayDaemon, model: string) =>
  (await d.rpc<Health>('backstop/health')).perModel[model]?.state ?? 'healthy';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => Promise<boolean>, timeoutMs: number, stepMs = 5): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await ok()) return performance.now() - t0;
    await sleep(stepMs);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

/** Open the circuit of `model` in daemon `d` (two counted failures); returns when the last one answered. */
async function openIn(d: GatewayDaemon, model: string): Promise<void> {
  for (let i = 0; i < 2; i++) assert.equal((await complete(d, [model, OK])).modelUsed, OK);
  assert.equal(await stateOf(d, model), 'open');
}

describe('team state on Redis: three daemons', { timeout: 90_000 }, () => {
  before(async () => {
    redis = await startRedis();
    fault = await startFaultServer();
    const config = {
      providers: [
        { id: 'fault', type: 'openai-compatible', baseUrl: `${fault.url}/v1` },
        { id: 'limited', type: 'openai-compatible', baseUrl: `${fault.url}/v1`, rateLimit: { requestsPerMinute: RPM } },
        { id: 'spent', type: 'openai-compatible', baseUrl: `${fault.url}/v1` },
        { id: 'capped', type: 'openai-compatible', baseUrl: `${fault.url}/v1` },
      ],
      prices: { 'spent/ok+spend': { inputPerMTok: 1000, outputPerMTok: 2000 } },
      budgets: [
        { provider: 'spent', period: 'day', tokens: 1_000_000 },
        { provider: 'capped', period: 'month', tokens: 1 },
      ],
      maxRetries: 0,
      circuit: { failureThreshold: 2, cooldownMs: COOLDOWN_MS, maxCooldownMs: 2 * COOLDOWN_MS },
      state: { redis: { url: redis.url, prefix: `t${process.pid}:` } },
    };
    daemons = await Promise.all([0, 1, 2].map(() => startGatewayDaemon(config)));
    // Each daemon logs once its Redis connection is up and synchronised.
    await Promise.all(
      daemons.map((d) =>
        until('team state up', () => Promise.resolve(d.proc.stderr().includes('team state: sharing')), 10_000, 20),
      ),
    );
  });

  after(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    await fault?.close();
    await redis?.stop();
  });

  it('a circuit opened in one daemon is skipped by the others without a call upstream', async () => {
    const [a, b, c] = daemons as [GatewayDaemon, GatewayDaemon, GatewayDaemon];
    const model = `${FAILING}+circuit`;
    await openIn(a, model);
    const t = await until(
      'the opening reaches b and c',
      async () => (await stateOf(b, model)) === 'open' && (await stateOf(c, model)) === 'open',
      2000,
    );
    console.log(
      `# propagation: circuit open seen by both other daemons ${t.toFixed(1)} ms after the opening request answered`,
    );
    assert.ok(t <= 200, `propagation took ${t} ms`);
    const upstream = fault.attemptsFor(`${FAULT_MODELS.error503Always}+circuit`).length;
    for (const d of [b, c, b, c]) assert.equal((await complete(d, [model, OK])).modelUsed, OK);
    assert.equal(fault.attemptsFor(`${FAULT_MODELS.error503Always}+circuit`).length, upstream);
  });

  it('one probe per interval across the three daemons', async () => {
    const model = `${FAILING}+probe`;
    const name = `${FAULT_MODELS.error503Always}+probe`;
    await openIn(daemons[0]!, model);
    const opened = fault.attemptsFor(name).length;
    const t0 = Date.now();
    // Every daemon sends a request every 40 ms for 4.5 s: two cooldown ends (1 s, then 2 s after a failed probe).
    await Promise.all(
      daemons.map(async (d) => {
        while (Date.now() - t0 < 4500) {
          assert.equal((await complete(d, [model, OK])).modelUsed, OK);
          await sleep(40);
        }
      }),
    );
    const probes = fault.attemptsFor(name).slice(opened);
    const gaps = probes.slice(1).map((p, i) => p.at - probes[i]!.at);
    console.log(`# probes across three daemons in 4.5 s: ${probes.length}, gaps ${gaps.join(', ')} ms`);
    assert.ok(probes.length >= 2 && probes.length <= 3, `${probes.length} probes`);
    for (const g of gaps) assert.ok(g >= COOLDOWN_MS * 0.9, `two probes ${g} ms apart`);
  });

  it(`a shared limit of ${RPM} requests a minute holds across the three`, async () => {
    const model = `limited/${FAULT_MODELS.ok}+rpm`;
    for (let i = 0; i < 15; i++) {
      const r = await complete(daemons[i % 3]!, [model, OK]);
      assert.ok(r.modelUsed === model || r.modelUsed === OK);
    }
    assert.equal(fault.attemptsFor(`${FAULT_MODELS.ok}+rpm`).length, RPM);
  });

  it('spend counters add up across the three daemons, and a budget used up in one stops the others', async () => {
    const model = `spent/${FAULT_MODELS.ok}+spend`;
    let tokens = 0;
    let usd = 0;
    for (let i = 0; i < 6; i++) {
      const r = await daemons[i % 3]!.rpc<CompleteUsage>('backstop/complete', {
        prompt: `hi ${i}`,
        chain: [model],
        maxTokens: 4,
      });
      assert.equal(r.modelUsed, model);
      tokens += r.usage.promptTokens + r.usage.completionTokens;
      usd += (r.usage.promptTokens * 1000 + r.usage.completionTokens * 2000) / 1e6;
    }
    const spentOf = async (d: GatewayDaemon) =>
      (await d.rpc<Status>('backstop/status')).budgets?.find((b) => b.provider === 'spent');
    const t = await until(
      'every daemon reports the team total',
      async () => (await Promise.all(daemons.map(spentOf))).every((b) => b?.spentTokens === tokens),
      5000,
      50,
    );
    for (const d of daemons) assert.ok(Math.abs((await spentOf(d))!.spentUsd - usd) < 1e-9);
    console.log(
      `# spend: ${tokens} tokens ($${usd.toFixed(4)}) over 6 requests in three daemons, seen by all ${t.toFixed(0)} ms after the last`,
    );

    // One request in a uses up capped's budget (1 token a month); b and c then skip capped without a call.
    const capped = `capped/${FAULT_MODELS.ok}+cap`;
    const [a, b, c] = daemons as [GatewayDaemon, GatewayDaemon, GatewayDaemon];
    assert.equal((await complete(a, [capped, OK])).modelUsed, capped);
    const cappedOf = async (d: GatewayDaemon) =>
      (await d.rpc<Status>('backstop/status')).budgets?.find((x) => x.provider === 'capped');
    await until(
      'b and c see the budget used up',
      async () => !!(await cappedOf(b))?.exceeded && !!(await cappedOf(c))?.exceeded,
      5000,
      50,
    );
    const calls = fault.attemptsFor(`${FAULT_MODELS.ok}+cap`).length;
    for (const d of [b, c]) {
      const r = await d.rpc<CompleteUsage>('backstop/complete', { prompt: 'hi', chain: [capped, OK], maxTokens: 4 });
      assert.equal(r.modelUsed, OK);
      assert.match(
        r.attempts.find((x) => x.model === capped)?.message ?? '',
        /^budget: capped used \d+ of its 1 tokens/,
      );
    }
    assert.equal(
      fault.attemptsFor(`${FAULT_MODELS.ok}+cap`).length,
      calls,
      'no call to the capped provider from b or c',
    );
  });

  it('Redis killed mid-run: every request answered; state resynchronised when it returns', async () => {
    const [a, b, c] = daemons as [GatewayDaemon, GatewayDaemon, GatewayDaemon];
    const model = `${FAILING}+outage`;
    await redis.kill();
    let slowest = 0;
    for (let i = 0; i < 9; i++) {
      const t = performance.now();
      assert.equal((await complete(daemons[i % 3]!, [`${OK}+outage`, OK])).modelUsed, `${OK}+outage`);
      slowest = Math.max(slowest, performance.now() - t);
    }
    // Learnt while Redis is away: a's circuit opens locally only.
    await openIn(a, model);
    assert.notEqual(await stateOf(b, model), 'open');
    assert.match(a.proc.stderr(), /team state: .* unreachable/);
    assert.equal(a.proc.stderr().match(/team state: .* unreachable/g)?.length, 1, 'warned once');
    await redis.restart();
    const t = await until(
      'b and c learn the opening after Redis returns',
      async () => (await stateOf(b, model)) === 'open' && (await stateOf(c, model)) === 'open',
      8000,
      20,
    );
    console.log(`# outage: slowest request ${slowest.toFixed(0)} ms; resynchronised ${t.toFixed(0)} ms after restart`);
    assert.match(a.proc.stderr(), /is back; resynchronised/);
  });
});
