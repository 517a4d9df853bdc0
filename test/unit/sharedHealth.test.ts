// Health shared between daemons through the SharedHealth seam: several registries on one clock wired
// to an in-memory bus (the Redis implementation is tested for real in test/integration/teamState).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultConfig } from '../../protocol/config';
import { HealthRegistry, type CircuitConfig } from '../../server/core/health';
import type { ProbeLease, SharedCircuitEvent, SharedHealth } from '../../server/core/sharedHealth';
import { FakeClock } from '../helpers/fakeClock';

const M = 'p/model';

/** Delivers every event to every other registry at once; one lease per model, like SET NX. */
class Bus {
  readonly members: HealthRegistry[] = [];
  readonly leases = new Map<string, number>();
  readonly counts = { ok: 0, fail: 0 };
  up = true;

  member(i: number): SharedHealth {
    return {
      publish: (model: string, ev: SharedCircuitEvent) => {
        if (!this.up) return;
        this.members.forEach((h, j) => (j === i ? undefined : h.applyShared(model, ev)));
      },
      probeLease: (model: string, take: boolean): ProbeLease => {
        if (!this.up) return 'local';
        const holder = this.leases.get(model);
        if (holder === undefined && take) this.leases.set(model, i);
        if (holder === undefined) return take ? 'granted' : 'local';
        return holder === i ? 'granted' : 'busy';
      },
      releaseProbe: (model: string) => {
        if (this.leases.get(model) === i) this.leases.delete(model);
      },
      count: (_model: string, ok: boolean) => void (ok ? this.counts.ok++ : this.counts.fail++),
    };
  }
}

function team(n: number) {
  const clock = new FakeClock();
  const cfg: CircuitConfig = { ...defaultConfig().circuit, cooldownMs: 2000, maxCooldownMs: 8000 };
  const bus = new Bus();
  for (let i = 0; i < n; i++) bus.members.push(new HealthRegistry({ clock, config: () => cfg, shared: bus.member(i) }));
  return { clock, bus, cfg, daemons: bus.members };
}

const open = (h: HealthRegistry, cfg: CircuitConfig) => {
  for (let i = 0; i < cfg.failureThreshold; i++) h.onFailure(M, 'server_error', 'HTTP 503');
};

describe('shared health', () => {
  it('a circuit opened in one daemon refuses the model in the others, until the same moment', async () => {
    const { daemons, cfg } = team(3);
    const [a, b, c] = daemons as [HealthRegistry, HealthRegistry, HealthRegistry];
    open(a, cfg);
    assert.equal(a.get(M).state, 'open');
    for (const h of [b, c]) {
      assert.equal(h.get(M).state, 'open');
      const adm = h.admit(M);
      assert.equal(adm.ok, false);
      assert.equal(h.blocked(M)?.until, a.blocked(M)?.until);
    }
  });

  it('after the cooldown exactly one daemon gets the probe; its failure re-opens all, its success closes all', async () => {
    const { daemons, cfg, clock } = team(3);
    const [a, b, c] = daemons as [HealthRegistry, HealthRegistry, HealthRegistry];
    open(b, cfg);
    await clock.advance(cfg.cooldownMs);
    const admissions = daemons.map((h) => h.admit(M));
    assert.equal(admissions.filter((x) => x.ok && x.probe).length, 1);
    assert.equal(admissions.filter((x) => x.ok).length, 1);
    const prober = daemons[admissions.findIndex((x) => x.ok)] ?? a;
    prober.onFailure(M, 'server_error', 'still 503');
    for (const h of [a, b, c]) assert.equal(h.get(M).state, 'open');
    // The next interval: a lease again, to one daemon only.
    await clock.advance(2 * cfg.cooldownMs);
    const second = daemons.map((h) => h.admit(M));
    assert.equal(second.filter((x) => x.ok).length, 1);
    const prober2 = daemons[second.findIndex((x) => x.ok)] ?? a;
    prober2.onSuccess(M, 50);
    for (const h of [a, b, c]) {
      assert.notEqual(h.get(M).state, 'open');
      assert.equal(h.admit(M).ok, true);
    }
  });

  it('a 429 in one daemon pauses the model in the others until its Retry-After', async () => {
    const { daemons, clock } = team(2);
    const [a, b] = daemons as [HealthRegistry, HealthRegistry];
    a.onFailure(M, 'rate_limited', 'HTTP 429', 3000);
    assert.equal(b.admit(M).ok, false);
    await clock.advance(3000);
    assert.equal(b.admit(M).ok, true);
  });

  it('with nothing shared (Redis down) each daemon decides alone and probes for itself', async () => {
    const { daemons, cfg, clock, bus } = team(2);
    const [a, b] = daemons as [HealthRegistry, HealthRegistry];
    bus.up = false;
    open(a, cfg);
    assert.equal(b.admit(M).ok, true);
    await clock.advance(cfg.cooldownMs);
    assert.deepEqual(a.admit(M), { ok: true, probe: true });
  });

  it('counts every counted call in the team window, and none for a request-level failure', async () => {
    const { daemons, bus } = team(2);
    const [a, b] = daemons as [HealthRegistry, HealthRegistry];
    a.onSuccess(M, 10);
    b.onFailure(M, 'server_error', '503');
    b.onFailure(M, 'bad_request', '400');
    assert.deepEqual(bus.counts, { ok: 1, fail: 1 });
  });

  it('an event that is already stale (an opening that has ended) changes nothing', async () => {
    const { daemons, clock } = team(1);
    const [a] = daemons as [HealthRegistry];
    a.applyShared(M, { type: 'open', until: clock.now() - 1, opens: 1 });
    assert.equal(a.get(M).state, 'healthy');
    assert.equal(a.admit(M).ok, true);
  });
});
