// Per-model health: the circuit state machine, 429 cooldowns, what counts against a model,
// "degraded", transitions, latency statistics, and persistence through a Store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../protocol/config';
import type { CircuitState, FailureKind } from '../../protocol/types';
import { PROBE_LEASE_MS } from '../../server/core/circuit';
import { HEALTH_STORE_KEY, HealthRegistry, type CircuitConfig } from '../../server/core/health';
import { StatsRecorder } from '../../server/core/stats';
import type { Store } from '../../server/core/types';
import { FakeClock } from '../helpers/fakeClock';

class MemoryStore implements Store {
  readonly data = new Map<string, string>();
  read<T>(key: string): T | undefined {
    const v = this.data.get(key);
    return v === undefined ? undefined : (JSON.parse(v) as T);
  }
  write(key: string, value: unknown): void {
    this.data.set(key, JSON.stringify(value));
  }
}

const M = 'p/model';

function setup(circuit: Partial<CircuitConfig> = {}, store?: Store) {
  const clock = new FakeClock();
  const cfg: CircuitConfig = { ...defaultConfig().circuit, cooldownMs: 10_000, maxCooldownMs: 35_000, ...circuit };
  const transitions: Array<[CircuitState, CircuitState, string]> = [];
  const health = new HealthRegistry({
    clock,
    config: () => cfg,
    ...(store ? { store } : {}),
    onTransition: (_m, from, to, why) => transitions.push([from, to, why]),
  });
  return { clock, health, transitions, cfg };
}

const failN = (h: HealthRegistry, n: number, kind: FailureKind = 'server_error') => {
  for (let i = 0; i < n; i++) h.onFailure(M, kind, 'HTTP 503');
};

describe('circuit', () => {
  it('opens after failureThreshold consecutive failures and refuses until the cooldown ends', async () => {
    const { clock, health } = setup({ failureThreshold: 3 });
    failN(health, 2);
    assert.equal(health.get(M).state, 'degraded');
    assert.deepEqual(health.admit(M), { ok: true, probe: false });
    failN(health, 1);
    const a = health.admit(M);
    assert.ok(!a.ok);
    assert.equal(a.until, clock.now() + 10_000);
    assert.match(a.reason, /circuit open/);
    assert.equal(health.get(M).cooldownUntil, new Date(clock.now() + 10_000).toISOString());
    await clock.advance(9_999);
    assert.equal(health.admit(M).ok, false);
    await clock.advance(1);
    assert.deepEqual(health.admit(M), { ok: true, probe: true });
  });

  it('half-open: one probe at a time; failure re-opens with a doubled cooldown capped at maxCooldownMs; success closes and resets growth', async () => {
    const { clock, health } = setup({ failureThreshold: 1 });
    const cooldowns: number[] = [];
    failN(health, 1);
    for (let i = 0; i < 3; i++) {
      const until = health.nextRecovery([M]) ?? 0;
      cooldowns.push(until - clock.now());
      await clock.advance(until - clock.now());
      assert.deepEqual(health.admit(M), { ok: true, probe: true });
      const busy = health.admit(M);
      assert.ok(!busy.ok && /probe/.test(busy.reason));
      failN(health, 1);
    }
    assert.deepEqual(cooldowns, [10_000, 20_000, 35_000]);
    await clock.advance(35_000);
    assert.equal(health.admit(M).ok, true);
    health.onSuccess(M, 100);
    assert.equal(health.get(M).state, 'healthy');
    failN(health, 1);
    assert.equal((health.nextRecovery([M]) ?? 0) - clock.now(), 10_000, 'growth reset after a successful probe');
  });

  it('a released probe frees the slot; a lost probe expires after its lease', async () => {
    const { clock, health } = setup({ failureThreshold: 1 });
    failN(health, 1);
    await clock.advance(10_000);
    assert.ok(health.admit(M).ok);
    health.releaseProbe(M);
    assert.deepEqual(health.admit(M), { ok: true, probe: true });
    await clock.advance(PROBE_LEASE_MS + 1);
    assert.deepEqual(health.admit(M), { ok: true, probe: true });
  });

  it('opens on failure rate over the window once minRequests calls were seen', () => {
    const { health } = setup({ failureThreshold: 100, windowSize: 10, minRequests: 6, failureRateThreshold: 0.5 });
    for (const ok of [true, false, true, false, false]) {
      if (ok) health.onSuccess(M, 10);
      else failN(health, 1);
    }
    assert.equal(health.admit(M).ok, true, '3/5 failed but under minRequests');
    failN(health, 1);
    assert.equal(health.admit(M).ok, false, '4/6 failed');
  });

  it('request-shaped failures do not count against the model', () => {
    const { health } = setup({ failureThreshold: 1 });
    for (const k of ['bad_request', 'content_filter', 'context_overflow', 'cancelled'] as const)
      health.onFailure(M, k, 'x');
    assert.deepEqual([health.get(M).state, health.get(M).failureCount], ['healthy', 0]);
    for (const k of [
      'timeout',
      'stream_interrupted',
      'model_load',
      'out_of_memory',
      'model_missing',
      'network',
    ] as const) {
      const s = setup({ failureThreshold: 1 });
      s.health.onFailure(M, k, 'x');
      assert.equal(s.health.get(M).state, 'open', k);
    }
  });

  it('auth: needs a key, degraded but callable; a success clears it', () => {
    const { health } = setup({ failureThreshold: 1 });
    health.onFailure(M, 'auth', '401 invalid key');
    const m = health.get(M);
    assert.deepEqual([m.state, m.needsKey, m.failureCount], ['degraded', true, 0]);
    assert.equal(health.admit(M).ok, true);
    health.onSuccess(M, 50);
    assert.equal(health.get(M).needsKey, undefined);
  });
});

describe('rate limits', () => {
  it('429 with Retry-After cools the model until then, without opening the circuit', async () => {
    const { clock, health } = setup({ failureThreshold: 1 });
    health.onFailure(M, 'rate_limited', '429', 2000);
    const a = health.admit(M);
    assert.ok(!a.ok && a.until === clock.now() + 2000 && /rate limited/.test(a.reason));
    assert.equal(health.get(M).state, 'degraded');
    await clock.advance(2000);
    assert.deepEqual(health.admit(M), { ok: true, probe: false });
  });

  it('429 without Retry-After: a pause that doubles per consecutive 429, capped at maxCooldownMs', () => {
    const { clock, health } = setup({ cooldownMs: 2000, maxCooldownMs: 5000 });
    const pauses: number[] = [];
    for (let i = 0; i < 5; i++) {
      health.onFailure(M, 'rate_limited', '429');
      pauses.push((health.nextRecovery([M]) ?? 0) - clock.now());
    }
    assert.deepEqual(pauses, [1000, 2000, 4000, 5000, 5000]);
  });
});

describe('statistics and transitions', () => {
  it('counts, success rate, EWMA, p50/p95 and ttft p95', () => {
    const { health } = setup();
    for (let i = 1; i <= 20; i++) health.onSuccess(M, i * 10, i);
    health.onFailure(M, 'network', 'reset');
    const m = health.get(M);
    assert.deepEqual(
      [m.successCount, m.failureCount, m.p50LatencyMs, m.p95LatencyMs, m.lastFailure],
      [20, 1, 100, 190, 'network'],
    );
    assert.equal(m.successRate, 20 / 21);
    assert.ok(m.avgLatencyMs !== null && m.avgLatencyMs > 150 && m.avgLatencyMs < 200, 'EWMA leans to recent samples');
    assert.equal(health.ttftP95(M), 19);
    assert.equal(health.ttftP95('p/unknown'), undefined);
  });

  it('reports every transition with a reason', async () => {
    const { clock, health, transitions } = setup({ failureThreshold: 2 });
    failN(health, 2);
    await clock.advance(10_000);
    // A reader (the daemon's timer at nextRecovery) is enough to see and report the move.
    assert.equal(health.all()[M]?.state, 'half_open');
    assert.equal(transitions.length, 3);
    health.admit(M);
    health.onSuccess(M, 10);
    assert.deepEqual(
      transitions.map(([f, t]) => `${f}>${t}`),
      ['healthy>degraded', 'degraded>open', 'open>half_open', 'half_open>healthy'],
    );
    assert.match(transitions[1]?.[2] ?? '', /2 consecutive failures; skipped for 10 s/);
  });

  it('nextRecovery: undefined while any model is callable, else the earliest recovery', () => {
    const { clock, health } = setup({ failureThreshold: 1 });
    health.onFailure('a', 'server_error', 'x');
    health.onFailure('b', 'rate_limited', 'x', 3000);
    assert.equal(health.nextRecovery(['a', 'c']), undefined);
    assert.equal(health.nextRecovery(['a', 'b']), clock.now() + 3000);
  });
});

describe('persistence', () => {
  it('health survives a restart through the Store (an open circuit stays open)', () => {
    const store = new MemoryStore();
    const before = setup({ failureThreshold: 1 }, store);
    before.health.onSuccess(M, 120, 30);
    before.health.onFailure(M, 'server_error', 'HTTP 500');
    const after = new HealthRegistry({ clock: before.clock, config: () => before.cfg, store });
    assert.deepEqual(after.get(M), before.health.get(M));
    assert.equal(after.admit(M).ok, false);
    assert.equal(after.latencyEwma(M), 120);
  });

  it('the store gets a view serialised when it writes (no copy per call), and a caching store restores from it', () => {
    // Like the file store: keeps what it was given and serialises at flush time.
    const kept = new Map<string, unknown>();
    let writes = 0;
    const caching: Store = {
      read: <T>(key: string) => kept.get(key) as T,
      write: (key, value) => {
        writes++;
        kept.set(key, value);
      },
    };
    const before = setup({ failureThreshold: 1 }, caching);
    before.health.onSuccess(M, 120, 30);
    const view = kept.get(HEALTH_STORE_KEY);
    before.health.onFailure(M, 'server_error', 'HTTP 500');
    assert.equal(kept.get(HEALTH_STORE_KEY), view, 'the same view each time, nothing copied');
    assert.equal(writes, 2);
    const flushed = JSON.parse(JSON.stringify(view)) as { version: number; models: Record<string, unknown> };
    assert.equal(flushed.version, 1);
    assert.deepEqual(Object.keys(flushed.models), [M]);
    const after = new HealthRegistry({ clock: before.clock, config: () => before.cfg, store: caching });
    assert.deepEqual(after.get(M), before.health.get(M));
    assert.equal(after.admit(M).ok, false);
  });

  it('a corrupt or foreign health record is ignored, not fatal', () => {
    const store = new MemoryStore();
    store.write(HEALTH_STORE_KEY, {
      version: 1,
      models: {
        [M]: { circuit: { state: 'melted' } },
        ok: { circuit: { state: 'open', openUntil: 'soon' }, successCount: -4 },
      },
    });
    const { health } = setup({}, store);
    assert.deepEqual(Object.keys(health.all()), ['ok']);
    assert.equal(health.get('ok').successCount, 0);
    store.write(HEALTH_STORE_KEY, 'garbage');
    assert.deepEqual(setup({}, store).health.all(), {});
  });

  it('reset forgets a model and reports it healthy', () => {
    const { health, transitions } = setup({ failureThreshold: 1 });
    failN(health, 1);
    health.reset(M);
    assert.equal(health.get(M).failureCount, 0);
    assert.deepEqual(transitions.at(-1)?.slice(0, 2), ['open', 'healthy']);
  });

  it('stats count requests, fallbacks and models used, and survive a restart', () => {
    const store = new MemoryStore();
    const s = new StatsRecorder(store);
    s.record({ modelUsed: 'a', fallback: false, ok: true });
    s.record({ modelUsed: 'b', fallback: true, ok: true });
    s.record({ fallback: true, ok: false });
    const expected = {
      totalRequests: 3,
      fallbackRequests: 2,
      fallbackRate: 2 / 3,
      modelsUsed: { a: 1, b: 1 },
      failedRequests: 1,
    };
    assert.deepEqual(s.get(), expected);
    assert.deepEqual(new StatsRecorder(store).get(), expected);
    assert.deepEqual(new StatsRecorder().get(), {
      totalRequests: 0,
      fallbackRequests: 0,
      fallbackRate: 0,
      modelsUsed: {},
      failedRequests: 0,
    });
  });
});
