// CloudModelCatalog: background lists with a TTL, per-provider errors and timeouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CloudModelCatalog } from '../../server/discovery/cloudModels';
import { ProviderError, type Provider, type ProviderModel } from '../../server/core/types';
import { FakeClock } from '../helpers/fakeClock';

function provider(
  id: string,
  list?: (signal: AbortSignal) => Promise<ProviderModel[]>,
  kind: 'local' | 'cloud' = 'cloud',
): Provider & { calls: number } {
  const p = {
    id,
    type: 'openai-compatible' as const,
    kind,
    calls: 0,
    generate: () => Promise.reject(new Error('unused')),
    ...(list ? { listModels: (s: AbortSignal) => ((p.calls += 1), list(s)) } : {}),
  };
  return p;
}

test('lists each cloud provider, sorted; errors keep the kind; local providers and those without listModels are skipped', async () => {
  const ok = provider('oa', async () => [{ name: 'gpt-b' }, { name: 'gpt-a', contextLength: 128000 }]);
  const denied = provider('an', async () => {
    throw new ProviderError('auth', 'invalid API key (401): set ANTHROPIC_API_KEY');
  });
  const broken = provider('ge', async () => {
    throw new TypeError('fetch failed');
  });
  const local = provider('local', async () => [{ name: 'x' }], 'local');
  const silent = provider('nolist');
  const clock = new FakeClock(1000);
  let changes = 0;
  const cat = new CloudModelCatalog({
    providers: () => [ok, denied, broken, local, silent],
    clock,
    onChange: () => changes++,
  });
  await cat.refresh();
  assert.deepEqual(cat.get('oa'), { models: [{ name: 'gpt-a', contextLength: 128000 }, { name: 'gpt-b' }], at: 1000 });
  assert.deepEqual(cat.get('an')?.error, { kind: 'auth', message: 'invalid API key (401): set ANTHROPIC_API_KEY' });
  assert.deepEqual(cat.get('ge')?.error, { kind: 'unknown', message: 'fetch failed' });
  assert.equal(cat.get('local'), undefined);
  assert.equal(cat.get('nolist'), undefined);
  assert.equal(local.calls, 0);
  assert.equal(changes, 3);

  // Fresh: no calls. Forced: calls again, but an unchanged answer is not a change.
  await clock.advance(1000);
  await cat.refresh();
  assert.equal(ok.calls, 1);
  await cat.refresh(true);
  assert.equal(ok.calls, 2);
  assert.equal(changes, 3);
});

test('after the TTL, get() answers from the cache and refreshes in the background; an outage keeps the last list', async () => {
  const clock = new FakeClock(0);
  let fail = false;
  const p = provider('oa', async () => {
    if (fail) throw new ProviderError('network', 'connect ECONNREFUSED 127.0.0.1:1');
    return [{ name: 'm1' }];
  });
  const cat = new CloudModelCatalog({ providers: () => [p], ttlMs: 60_000, clock });
  await cat.refresh();
  fail = true;
  await clock.advance(59_999);
  assert.equal(cat.get('oa')?.error, undefined);
  assert.equal(p.calls, 1);
  await clock.advance(1);
  const stale = cat.get('oa');
  assert.deepEqual(stale?.models, [{ name: 'm1' }]);
  assert.equal(p.calls, 2, 'a stale get starts a refresh');
  await cat.refresh(); // joins the in-flight call
  assert.equal(p.calls, 2);
  assert.deepEqual(cat.get('oa'), {
    models: [{ name: 'm1' }],
    error: { kind: 'network', message: 'connect ECONNREFUSED 127.0.0.1:1' },
    at: 60_000,
  });
});

test('a provider that never answers times out without holding the others', async () => {
  const hang = provider('slow', () => new Promise(() => {}));
  const fast = provider('fast', async () => [{ name: 'f' }]);
  const clock = new FakeClock(0);
  const cat = new CloudModelCatalog({ providers: () => [hang, fast], timeoutMs: 50, clock });
  let done = false;
  const refreshed = cat.refresh().then(() => (done = true));
  await clock.advance(49);
  assert.equal(done, false);
  assert.deepEqual(
    cat.get('fast')?.models,
    [{ name: 'f' }],
    'the fast provider is listed while the slow one still hangs',
  );
  await clock.advance(1);
  await refreshed;
  assert.equal(cat.get('slow')?.error?.kind, 'timeout');
  assert.match(cat.get('slow')?.error?.message ?? '', /longer than 50 ms/);
});

test('providers removed from the configuration are forgotten', async () => {
  let list = [provider('a', async () => [{ name: 'x' }]), provider('b', async () => [{ name: 'y' }])];
  const cat = new CloudModelCatalog({ providers: () => list, clock: new FakeClock() });
  await cat.refresh();
  list = [list[0] as Provider & { calls: number }];
  await cat.refresh();
  assert.equal(cat.get('b'), undefined);
  assert.ok(cat.get('a'));
});
