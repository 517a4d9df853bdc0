// Recovery in seconds, under the DEFAULT configuration (docs/architecture.md, "Recovery"): a primary
// that comes back carries traffic again within 10 s of recovering, however long it was down, and while
// it is down it sees at most one probe per cooldown interval (one request at a time). Fake clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../protocol/config';
import type { CompleteResult } from '../../protocol/types';
import { Circuit } from '../../server/core/circuit';
import { HealthRegistry } from '../../server/core/health';
import { FakeClock } from '../helpers/fakeClock';
import { fail, hang, ok, setupEngine } from '../helpers/fakeProvider';

const RECOVERY_BOUND_MS = 10_000;
const ANSWER = 'fallback answer';

/** A request every `everyMs` from t0 until `untilMs`; the primary fails with `down` until `recoveredAfterMs`. */
async function outage(o: {
  recoveredAfterMs: number;
  untilMs: number;
  everyMs: number;
  down: 'server_error' | 'hang';
}) {
  const h = setupEngine();
  const t0 = h.clock.now();
  const recoveredAt = t0 + o.recoveredAfterMs;
  h.provider.scriptFn('primary', (_call, now) =>
    now < recoveredAt ? (o.down === 'hang' ? hang() : fail('server_error', { status: 503 })) : ok('primary ok'),
  );
  h.provider.script('fallback', ok(ANSWER));
  const pending: Promise<CompleteResult>[] = [];
  // Requests overlap (a hanging probe holds one while others go on): start each on time, await at the end.
  for (let at = t0; at < t0 + o.untilMs; at += o.everyMs) {
    if (h.clock.now() < at) await h.clock.advance(at - h.clock.now());
    pending.push(h.start(['primary', 'fallback']));
  }
  const results = await h.clock.run(Promise.all(pending), 3_600_000, 100);
  return { h, t0, recoveredAt, results };
}

function primaryCalls(h: ReturnType<typeof setupEngine>) {
  return h.provider.callsTo('primary');
}

describe('recovery in seconds (default settings)', () => {
  for (const downMs of [30_000, 10 * 60_000, 60 * 60_000]) {
    it(`503 for ${downMs / 1000} s, a request a second: back on the primary ≤ 10 s after recovery; ≤ 1 probe per interval while down`, async () => {
      const cfg = defaultConfig().circuit;
      const { h, recoveredAt, results } = await outage({
        recoveredAfterMs: downMs,
        untilMs: downMs + 30_000,
        everyMs: 1000,
        down: 'server_error',
      });
      assert.ok(
        results.every((r) => r.text === ANSWER || r.text === 'primary ok'),
        'every request answered',
      );
      const calls = primaryCalls(h);
      const firstOk = calls.find((c) => c.at >= recoveredAt);
      assert.ok(firstOk, 'the primary was tried again after recovering');
      assert.ok(
        firstOk.at - recoveredAt <= RECOVERY_BOUND_MS,
        `back on the primary ${firstOk.at - recoveredAt} ms after recovery`,
      );
      const served = results.filter((r) => r.modelUsed === 'fake/primary');
      assert.ok(served.length >= 20, `${served.length} of the last 30 requests on the primary`);
      assert.equal(results.at(-1)?.modelUsed, 'fake/primary');
      // While down: after the circuit first opened, probes are spaced by at least the first cooldown
      // and, once grown, by maxCooldownMs; never two at once.
      const opened = h.transitions.find((t) => t.model === 'fake/primary' && t.to === 'open')?.at ?? Infinity;
      const probes = calls.filter((c) => c.at >= opened && c.at < recoveredAt);
      for (let i = 1; i < probes.length; i++) {
        const gap = (probes[i]?.at ?? 0) - (probes[i - 1]?.at ?? 0);
        assert.ok(gap >= cfg.cooldownMs, `probes ${gap} ms apart`);
      }
      const steady = probes.slice(3);
      for (let i = 1; i < steady.length; i++) {
        const gap = (steady[i]?.at ?? 0) - (steady[i - 1]?.at ?? 0);
        assert.ok(gap >= cfg.maxCooldownMs, `steady probes ${gap} ms apart`);
      }
      assert.ok(
        probes.length <= Math.ceil(downMs / cfg.maxCooldownMs) + 3,
        `${probes.length} probes in ${downMs / 1000} s`,
      );
      console.log(
        `  down ${downMs / 1000} s: ${probes.length} probes while down; back on the primary ${firstOk.at - recoveredAt} ms after recovery`,
      );
    });
  }

  it('a primary that hangs while down: one probe at a time, others go straight to the fallback; back within a probe deadline + the first cooldown', async () => {
    const cfg = defaultConfig();
    const { h, recoveredAt, results } = await outage({
      recoveredAfterMs: 120_000,
      untilMs: 160_000,
      everyMs: 1000,
      down: 'hang',
    });
    assert.ok(results.every((r) => r.text === ANSWER || r.text === 'primary ok'));
    const calls = primaryCalls(h);
    // Never two calls to the primary in flight once it has failed: the half-open probe is single.
    const opened = h.transitions.find((t) => t.model === 'fake/primary' && t.to === 'open')?.at ?? Infinity;
    const down = calls.filter((c) => c.at >= opened && c.at < recoveredAt);
    for (let i = 1; i < down.length; i++) {
      const prevEnd = down[i - 1]?.abortedAt ?? down[i - 1]?.settledAt ?? Infinity;
      assert.ok((down[i]?.at ?? 0) >= prevEnd, 'one probe at a time');
    }
    // A hung probe ends at the attempt deadline of a cloud model (the first-token timeout).
    const firstOk = calls.find((c) => c.at >= recoveredAt - cfg.firstTokenTimeoutMs && c.settledAt !== undefined);
    assert.ok(firstOk, 'the primary answered again');
    const servedAt = results.find((r) => r.modelUsed === 'fake/primary');
    assert.ok(servedAt);
    const back = calls.find((c) => c.at >= recoveredAt);
    // A probe sent just before recovery hangs until its deadline; the next one follows cooldownMs later.
    const bound = cfg.firstTokenTimeoutMs + cfg.circuit.cooldownMs + 1000;
    assert.ok(back && back.at - recoveredAt <= bound, `back ${back ? back.at - recoveredAt : '∞'} ms after recovery`);
    console.log(
      `  hanging 120 s: ${down.length} probes while down; back on the primary ${back.at - recoveredAt} ms after recovery`,
    );
  });

  it('a cooldown persisted under older, longer settings is cut to the longest cooldown configured now', async () => {
    const clock = new FakeClock();
    const cfg = defaultConfig().circuit;
    const old = new Circuit();
    for (let i = 0; i < cfg.failureThreshold; i++) old.failure(clock.now(), { ...cfg, cooldownMs: 300_000 });
    const store = new Map<string, unknown>();
    store.set('health', {
      version: 1,
      models: {
        'p/m': {
          circuit: old.snapshot(),
          successCount: 0,
          failureCount: 3,
          needsKey: false,
          latencies: [],
          ttfts: [],
        },
      },
    });
    const health = new HealthRegistry({
      clock,
      config: () => cfg,
      store: { read: <T>(k: string) => store.get(k) as T, write: (k, v) => store.set(k, v) },
    });
    const b = health.blocked('p/m');
    assert.ok(b && b.until - clock.now() <= cfg.maxCooldownMs, `blocked for ${b ? b.until - clock.now() : 0} ms`);
    await clock.advance(cfg.maxCooldownMs);
    assert.deepEqual(health.admit('p/m'), { ok: true, probe: true });
  });
});
