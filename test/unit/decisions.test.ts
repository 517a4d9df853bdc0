// Decisions you can trust (issue 18): suggestions and plans weigh live health (success rate, recent
// failures, the failure being planned for, the models that already failed the request) and hard
// requirements; qualityDelta is a property of the pair; preferSpeed changes the ranking only.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CAPABILITIES, type Capability, type ModelHealth, type ModelInfo } from '../../protocol/types';
import { EngineError } from '../../server/core/engine';
import { failedModels, planFallback } from '../../server/core/planner';
import { healthFactor, MIN_HEALTH_FACTOR, scoreCandidates } from '../../server/core/scoring';
import { fail, setupEngine } from '../helpers/fakeProvider';
import { fuzzOptions } from '../helpers/fuzz';
import { modelInfo } from '../helpers/modelInfo';

const NOW = Date.parse('2026-01-01T12:00:00Z');

const model = modelInfo;

/** Five calls, all failed, the last one `agoMs` ago: degraded, but not open. */
const failing = (kind: ModelHealth['lastFailure'] = 'server_error', agoMs = 2000): Partial<ModelHealth> => ({
  state: 'degraded',
  failureCount: 5,
  successRate: 0,
  recentSuccessRate: 0,
  recentCalls: 5,
  consecutiveFailures: 2,
  lastFailure: kind,
  lastFailureAt: new Date(NOW - agoMs).toISOString(),
});

describe('suggestions weigh live health', () => {
  it('a model with 0 % success ranks below a healthy one and says why, in words', () => {
    const requested = model('cloud/primary');
    const cands = [
      model('cloud/bad-a', {}, failing()),
      model('cloud/bad-b', {}, failing('timeout', 30_000)),
      model('cloud/good', {}, { successCount: 9, recentSuccessRate: 1, recentCalls: 9 }),
    ];
    const s = scoreCandidates(requested, cands, {}, { now: NOW });
    assert.equal(s[0]?.model, 'cloud/good');
    const bad = s.find((x) => x.model === 'cloud/bad-a')!;
    assert.ok(bad.score < 0.3, `a failing model scores low, got ${bad.score}`);
    assert.ok(bad.score < s[0]!.score / 3);
    assert.ok(bad.reasons.includes('0 % success in its last 5 calls'), JSON.stringify(bad.reasons));
    assert.ok(bad.reasons.includes('had a server error 2 s ago'), JSON.stringify(bad.reasons));
    const b = s.find((x) => x.model === 'cloud/bad-b')!;
    assert.ok(b.reasons.includes('timed out 30 s ago'), JSON.stringify(b.reasons));
  });

  it('a recent failure of the kind being planned for weighs more than another kind', () => {
    const oom = model('local/small', {}, { ...failing('out_of_memory'), recentSuccessRate: 1, recentCalls: 0 });
    const same = healthFactor(oom, { now: NOW, failure: 'out_of_memory' });
    const other = healthFactor(oom, { now: NOW, failure: 'rate_limited' });
    assert.ok(same.factor < other.factor);
    assert.deepEqual(same.reasons, ['ran out of memory 2 s ago, the same failure']);
    // Long ago, it no longer counts.
    const old = model(
      'local/old',
      {},
      { lastFailure: 'out_of_memory', lastFailureAt: new Date(NOW - 3_600_000).toISOString() },
    );
    assert.deepEqual(healthFactor(old, { now: NOW, failure: 'out_of_memory' }), { factor: 1, reasons: [] });
  });

  it('property: the health factor stays in MIN_HEALTH_FACTOR..1 and falls as the success rate falls', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.double({ min: 0, max: 1, noNaN: true }), (calls, rate) => {
        const m = (r: number) => model('x/y', {}, { recentCalls: calls, recentSuccessRate: r, successRate: r });
        const f = healthFactor(m(rate)).factor;
        assert.ok(f >= MIN_HEALTH_FACTOR && f <= 1, String(f));
        assert.ok(healthFactor(m(Math.min(1, rate + 0.1))).factor >= f);
      }),
      fuzzOptions(500),
    );
  });
});

describe('plans weigh live health and the request that failed', () => {
  const oomLocal = model('local/tiny', { sizeBytes: 1e8 }, failing('out_of_memory', 1000));
  const healthyCloud = model('cloud/backup', {}, { successCount: 4, recentSuccessRate: 1, recentCalls: 4 });
  const primary = model('cloud/primary', {}, failing('server_error', 500));

  it('an exhausted plan never proposes a model that failed the same request', () => {
    const attempts = [
      { model: 'cloud/primary', outcome: 'error' as const, failure: 'server_error' as const, latencyMs: 5, retry: 0 },
      { model: 'local/tiny', outcome: 'error' as const, failure: 'out_of_memory' as const, latencyMs: 9, retry: 0 },
    ];
    const failedInRequest = failedModels(attempts);
    const p = planFallback({
      model: 'cloud/primary',
      failure: 'server_error',
      models: [primary, oomLocal, healthyCloud],
      mockGeneration: false,
      exhausted: true,
      now: NOW,
      failedInRequest,
    });
    const proposed = p.options.map((o) => o.model);
    assert.ok(!p.options.some((o) => o.type !== 'queue_and_wait' && o.model === 'local/tiny'), JSON.stringify(p));
    assert.ok(proposed.includes('cloud/backup'));
    assert.notEqual(p.recommended.model, 'local/tiny');
  });

  it('an out-of-memory plan ranks a model that just ran out of memory below a healthy one, and says so', () => {
    const other = model('local/other', { sizeBytes: 5e7 }, failing('out_of_memory', 2000));
    const fresh = model('local/fresh', { sizeBytes: 5e7 });
    const big = model('local/big', { sizeBytes: 4e9 });
    const p = planFallback({
      model: 'local/big',
      failure: 'out_of_memory',
      models: [big, other, fresh],
      mockGeneration: false,
      now: NOW,
    });
    const alts = p.options.filter((o) => o.type === 'alternative_model');
    assert.equal(alts[0]?.model, 'local/fresh');
    const o = alts.find((x) => x.model === 'local/other');
    assert.ok(o, JSON.stringify(p.options));
    assert.match(o.message, /ran out of memory 2 s ago, the same failure/);
  });
});

describe('hard requirements', () => {
  const capList = fc.subarray([...CAPABILITIES] as Capability[]);
  const candidate = fc.record({
    name: fc.stringMatching(/^[a-z]{1,6}$/),
    caps: capList,
    ctx: fc.option(fc.integer({ min: 512, max: 200_000 }), { nil: undefined }),
    ok: fc.integer({ min: 0, max: 10 }),
    bad: fc.integer({ min: 0, max: 10 }),
  });

  it('property: a model lacking a required capability scores below every model that has it, and no plan proposes it', () => {
    fc.assert(
      fc.property(fc.array(candidate, { minLength: 1, maxLength: 6 }), capList, (cs, need) => {
        const models = cs.map((c, i) =>
          model(
            `cloud/${c.name}${i}`,
            { capabilities: c.caps, ...(c.ctx ? { contextLength: c.ctx } : {}) },
            {
              successCount: c.ok,
              failureCount: c.bad,
              successRate: c.ok + c.bad ? c.ok / (c.ok + c.bad) : 1,
            },
          ),
        );
        const has = (m: ModelInfo) => need.every((x) => m.capabilities.includes(x));
        const s = scoreCandidates({ id: 'cloud/req' }, models, { capabilities: need });
        const scoreOf = (id: string) => s.find((x) => x.model === id)!.score;
        const lacking = models.filter((m) => !has(m)).map((m) => scoreOf(m.id));
        const having = models.filter(has).map((m) => scoreOf(m.id));
        if (lacking.length && having.length)
          assert.ok(Math.max(...lacking) < Math.min(...having) || Math.max(...lacking) === 0);
        const p = planFallback({
          model: 'cloud/req',
          failure: 'server_error',
          models,
          requirements: { capabilities: need },
          mockGeneration: false,
        });
        for (const o of p.options)
          if (o.type === 'alternative_model') assert.ok(has(models.find((m) => m.id === o.model)!), o.message);
      }),
      fuzzOptions(500),
    );
  });
});

describe('qualityDelta and preferSpeed', () => {
  const arb = fc.record({
    parameters: fc.option(fc.constantFrom('0.5B', '1.5B', '7B', '70B'), { nil: undefined }),
    quantization: fc.option(fc.constantFrom('Q4_K_M', 'Q8_0', 'F16'), { nil: undefined }),
    tps: fc.option(fc.double({ min: 1, max: 500, noNaN: true }), { nil: undefined }),
  });
  const mk = (id: string, a: { parameters?: string; quantization?: string; tps?: number }) =>
    model(id, {
      ...(a.parameters ? { parameters: a.parameters } : {}),
      ...(a.quantization ? { quantization: a.quantization } : {}),
      ...(a.tps ? { benchmark: { model: id, ok: true, at: '', tokensPerSecond: a.tps } } : {}),
    });

  it('property: qualityDelta of a pair is the same whatever the preferences, and the reverse pair negates it', () => {
    fc.assert(
      fc.property(arb, arb, (x, y) => {
        const a = mk('local/a', x);
        const b = mk('local/b', y);
        const deltas = [
          {},
          { preferSpeed: true },
          { preferQuality: true },
          { preferSpeed: true, preferQuality: true },
        ].map((req) => scoreCandidates(a, [b], req)[0]!.qualityDelta);
        assert.ok(
          deltas.every((d) => d === deltas[0]),
          JSON.stringify(deltas),
        );
        const back = scoreCandidates(b, [a])[0]!.qualityDelta;
        assert.ok(Math.abs(back + deltas[0]!) <= 0.001, `${deltas[0]} vs ${back}`);
      }),
      fuzzOptions(500),
    );
  });

  it('preferSpeed changes the ranking, not the quality estimate, availability or reasons about quality', () => {
    const req = mk('local/req', { parameters: '7B', quantization: 'Q4_K_M', tps: 10 });
    const fastSmall = mk('local/fast', { parameters: '0.5B', quantization: 'Q4_K_M', tps: 200 });
    const slowBig = mk('local/big', { parameters: '70B', quantization: 'Q4_K_M', tps: 2 });
    const plain = scoreCandidates(req, [fastSmall, slowBig], { preferQuality: true });
    const speedy = scoreCandidates(req, [fastSmall, slowBig], { preferSpeed: true });
    assert.equal(plain[0]?.model, 'local/big');
    assert.equal(speedy[0]?.model, 'local/fast');
    for (const s of speedy) {
      const p = plain.find((x) => x.model === s.model)!;
      assert.equal(s.qualityDelta, p.qualityDelta);
      assert.equal(s.available, p.available);
    }
  });
});

describe('the engine hands the plan the request that failed', () => {
  it('an exhausted request: the plan hook gets its attempts, and the planner never proposes a model from them', async () => {
    let failed = new Map<string, string>();
    const h = setupEngine({
      config: { maxRetries: 0 },
      plan: (ctx) => {
        failed = failedModels(ctx.attempts);
        return planFallback({
          model: ctx.model,
          failure: ctx.failure,
          models: ['fake/a', 'fake/b', 'fake/c'].map((id) => model(id)),
          mockGeneration: false,
          exhausted: true,
          failedInRequest: failedModels(ctx.attempts),
        });
      },
    });
    h.provider.script('a', fail('server_error'));
    h.provider.script('b', fail('out_of_memory'));
    const o = await h.run(['a', 'b']);
    assert.ok(!o.ok && o.e instanceof EngineError);
    assert.deepEqual(Object.fromEntries(failed), { 'fake/a': 'server_error', 'fake/b': 'out_of_memory' });
    const plan = o.e.data.plan;
    assert.ok(plan);
    for (const opt of plan.options)
      if (opt.type === 'alternative_model' || opt.type === 'hybrid') assert.equal(opt.model, 'fake/c', opt.message);
    assert.equal(plan.options.find((x) => x.type === 'hybrid')?.model, 'fake/c');
  });
});
