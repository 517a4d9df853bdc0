import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, flush } from '../helpers/fakeClock';
import { QueueError, RequestQueue, type RequestQueueDeps } from '../../server/core/queue';
import { WaitEstimator } from '../../server/core/waitEstimate';
import type { Priority } from '../../protocol/types';

function setup(over: Partial<RequestQueueDeps> = {}) {
  const clock = new FakeClock();
  let changes = 0;
  const q = new RequestQueue({
    clock,
    maxSize: () => 10,
    maxWaitMs: () => 60_000,
    concurrency: () => 1,
    onChange: () => changes++,
    ...over,
  });
  return { clock, q, changes: () => changes };
}

const never = () => new AbortController().signal;

/** Acquire, record the order in which slots are granted, and release at once. */
function track(q: RequestQueue, order: string[], model: string, p: Priority, name: string, signal = never()) {
  return q.acquire(model, p, signal).then((release) => {
    order.push(name);
    release();
  });
}

test('grants at once while a slot is free, then queues', async () => {
  const { q } = setup();
  const r1 = await q.acquire('m', 'normal', never());
  assert.equal(q.running('m'), 1);
  let queuedId: string | undefined;
  const p2 = q.acquire('m', 'normal', never(), { onQueued: (id) => (queuedId = id) });
  assert.ok(queuedId, 'onQueued is called synchronously');
  assert.equal(q.length(), 1);
  r1();
  const r2 = await p2; // dispatched the moment the slot freed, no clock advance
  assert.equal(q.length(), 0);
  r2();
  r2(); // idempotent
  assert.equal(q.running('m'), 0);
});

test('priority order, FIFO within a level', async () => {
  const { q } = setup();
  const hold = await q.acquire('m', 'normal', never());
  const order: string[] = [];
  const ps = [
    track(q, order, 'm', 'low', 'low1'),
    track(q, order, 'm', 'normal', 'normal1'),
    track(q, order, 'm', 'critical', 'crit1'),
    track(q, order, 'm', 'high', 'high1'),
    track(q, order, 'm', 'normal', 'normal2'),
    track(q, order, 'm', 'critical', 'crit2'),
  ];
  assert.deepEqual(
    q.items().map((i) => [i.priority, i.position]),
    [
      ['critical', 0],
      ['critical', 1],
      ['high', 2],
      ['normal', 3],
      ['normal', 4],
      ['low', 5],
    ],
  );
  hold();
  await Promise.all(ps);
  assert.deepEqual(order, ['crit1', 'crit2', 'high1', 'normal1', 'normal2', 'low1']);
});

test('aging: a low item waiting long enough goes before newer critical ones', async () => {
  const { clock, q } = setup({ agingMs: 1000, maxWaitMs: () => 3_600_000 });
  const hold = await q.acquire('m', 'normal', never());
  const order: string[] = [];
  const low = track(q, order, 'm', 'low', 'low');
  await clock.advance(3000); // 3 levels: low → critical
  const crit = track(q, order, 'm', 'critical', 'crit');
  assert.equal(q.items()[0]?.priority, 'low');
  hold();
  await Promise.all([low, crit]);
  assert.deepEqual(order, ['low', 'crit']);
});

test('without enough aging the critical item still goes first', async () => {
  const { clock, q } = setup({ agingMs: 1000 });
  const hold = await q.acquire('m', 'normal', never());
  const order: string[] = [];
  const low = track(q, order, 'm', 'low', 'low');
  await clock.advance(1500); // one level only: low → normal
  const crit = track(q, order, 'm', 'critical', 'crit');
  hold();
  await Promise.all([low, crit]);
  assert.deepEqual(order, ['crit', 'low']);
});

test('maxSize bound rejects with -32002 queue_full when nothing of lower priority waits', async () => {
  const { q } = setup({ maxSize: () => 1 });
  const hold = await q.acquire('m', 'normal', never());
  const waiting = q.acquire('m', 'high', never());
  for (const p of ['high', 'normal', 'low'] as const) {
    await assert.rejects(q.acquire('m', p, never()), (e: unknown) => {
      assert.ok(e instanceof QueueError);
      assert.equal(e.code, -32002);
      assert.equal(e.kind, 'queue_full');
      assert.match(e.message, /queue\.maxSize = 1/);
      return true;
    });
  }
  hold();
  (await waiting)();
});

test('a full queue admits a higher-priority request by displacing the lowest-priority waiting one', async () => {
  const { q } = setup({ maxSize: () => 3 });
  const hold = await q.acquire('m', 'normal', never());
  const order: string[] = [];
  const low1 = track(q, order, 'm', 'low', 'low1');
  const normal = track(q, order, 'm', 'normal', 'normal');
  const low2 = q.acquire('m', 'low', never());
  // Full: the critical request takes the place of the newest of the lowest (low2), not of low1.
  const crit = track(q, order, 'm', 'critical', 'crit');
  await assert.rejects(low2, (e: unknown) => {
    assert.ok(e instanceof QueueError);
    assert.equal(e.code, -32002);
    assert.equal(e.kind, 'queue_full');
    assert.match(e.message, /displaced from the full queue by a critical-priority request/);
    assert.match(e.message, /lowest priority.*\(low, queue\.maxSize = 3\)/);
    return true;
  });
  assert.deepEqual(
    q.items().map((i) => i.priority),
    ['critical', 'normal', 'low'],
  );
  // Another critical: low1 goes too; a third finds only equal or higher priorities and is refused.
  const crit2 = track(q, order, 'm', 'critical', 'crit2');
  await assert.rejects(low1, { code: -32002 });
  await assert.rejects(q.acquire('m', 'normal', never()), /none of lower priority than this normal one/);
  hold();
  await Promise.all([normal, crit, crit2]);
  assert.deepEqual(order, ['crit', 'crit2', 'normal']);
});

test('aging counts when choosing whom to displace: an aged low item outranks a fresh normal one', async () => {
  const { clock, q } = setup({ maxSize: () => 2, agingMs: 1000, maxWaitMs: () => 600_000 });
  const hold = await q.acquire('m', 'normal', never());
  const aged = q.acquire('m', 'low', never());
  await clock.advance(2500); // low has aged two levels: it ranks as high now
  const fresh = q.acquire('m', 'normal', never());
  const crit = q.acquire('m', 'critical', never());
  await assert.rejects(fresh, /displaced/);
  hold();
  (await crit)();
  (await aged)();
});

test('maxSize 0 refuses any wait but still grants free slots', async () => {
  const { q } = setup({ maxSize: () => 0 });
  const r = await q.acquire('m', 'normal', never());
  await assert.rejects(q.acquire('m', 'normal', never()), { code: -32002 });
  r();
});

test('maxWaitMs expiry rejects with -32003 timeout and frees the place', async () => {
  const { clock, q } = setup({ maxWaitMs: () => 5000 });
  const hold = await q.acquire('m', 'normal', never());
  const p = q.acquire('m', 'normal', never());
  const seen: { err?: unknown } = {};
  p.catch((e: unknown) => (seen.err = e));
  await clock.advance(4999);
  assert.equal(seen.err, undefined);
  await clock.advance(1);
  const err = ((s: { err?: unknown }) => s.err)(seen);
  assert.ok(err instanceof QueueError);
  assert.equal(err.code, -32003);
  assert.equal(err.kind, 'timeout');
  assert.equal(q.length(), 0);
  hold();
  assert.equal(q.running('m'), 0, 'the expired item never took the slot');
  assert.equal(clock.pending(), 0);
});

test('cancellation by signal and by cancel(id) rejects with -32800 and removes the item', async () => {
  const { clock, q } = setup();
  const hold = await q.acquire('m', 'normal', never());
  const ac = new AbortController();
  const bySignal = q.acquire('m', 'normal', ac.signal);
  let id = '';
  const byId = q.acquire('m', 'normal', never(), { onQueued: (x) => (id = x), id: 'req-7' });
  assert.equal(id, 'req-7');
  ac.abort();
  await assert.rejects(bySignal, { code: -32800, kind: 'cancelled' });
  assert.equal(q.cancel('req-7'), true);
  assert.equal(q.cancel('req-7'), false);
  await assert.rejects(byId, { code: -32800 });
  assert.equal(q.length(), 0);
  assert.equal(clock.pending(), 0, 'expiry timers are cleared');
  const pre = new AbortController();
  pre.abort();
  await assert.rejects(q.acquire('m', 'normal', pre.signal), { code: -32800 });
  hold();
});

test('unavailable model: items wait, and dispatch on poke() once it recovers', async () => {
  let up = false;
  const { q } = setup({ isAvailable: () => up });
  let granted = false;
  const p = q.acquire('m', 'normal', never()).then((r) => {
    granted = true;
    return r;
  });
  await flush();
  assert.equal(granted, false);
  q.poke('m');
  await flush();
  assert.equal(granted, false, 'still unavailable');
  up = true;
  q.poke();
  (await p)();
  assert.equal(granted, true);
});

test('concurrency 2 runs two at once and queues the third', async () => {
  const { q } = setup({ concurrency: (m) => (m === 'm' ? 2 : 1) });
  const a = await q.acquire('m', 'normal', never());
  const b = await q.acquire('m', 'normal', never());
  assert.equal(q.running('m'), 2);
  let third = false;
  const c = q.acquire('m', 'normal', never()).then((r) => ((third = true), r));
  await flush();
  assert.equal(third, false);
  // Other models have their own queue.
  const other = await q.acquire('x', 'low', never());
  b();
  (await c)();
  assert.equal(third, true);
  a();
  other();
  assert.equal(q.running('m'), 0);
});

test('items carry estimated waits from the estimator; estimateNew counts those ahead', async () => {
  const clock = new FakeClock();
  const estimator = new WaitEstimator({ clock });
  for (let i = 0; i < 10; i++) estimator.observe('m', 2000);
  const q = new RequestQueue({ clock, estimator, maxSize: () => 10, maxWaitMs: () => 600_000, concurrency: () => 1 });
  const hold = await q.acquire('m', 'normal', never());
  await clock.advance(500);
  const p1 = q.acquire('m', 'normal', never());
  const p2 = q.acquire('m', 'normal', never());
  const items = q.items();
  assert.equal(items.length, 2);
  // Remaining 1.5 s of the running one, then + one 2 s request for the second.
  assert.ok(Math.abs((items[0]?.estimatedWaitMs ?? 0) - 1500) < 100, `first ${items[0]?.estimatedWaitMs}`);
  assert.ok(Math.abs((items[1]?.estimatedWaitMs ?? 0) - 3500) < 100, `second ${items[1]?.estimatedWaitMs}`);
  const crit = q.estimateNew('m', 'critical');
  const low = q.estimateNew('m', 'low');
  assert.equal(crit?.position, 0);
  assert.equal(low?.position, 2);
  hold();
  (await p1)();
  (await p2)();
});

test('estimates replay aging: an older item that will age past a new critical one is counted', async () => {
  const clock = new FakeClock();
  const estimator = new WaitEstimator({ clock });
  for (let i = 0; i < 10; i++) estimator.observe('m', 5000);
  const q = new RequestQueue({
    clock,
    estimator,
    agingMs: 1000,
    maxSize: () => 10,
    maxWaitMs: () => 600_000,
    concurrency: () => 1,
  });
  const hold = await q.acquire('m', 'normal', never());
  const order: string[] = [];
  const low = track(q, order, 'm', 'low', 'low');
  await clock.advance(2500);
  const crit = track(q, order, 'm', 'critical', 'crit');
  // Now the critical item is first (low has aged only to `high`), but when the slot frees in 2.5 s
  // low has waited 5 s, is `critical` too and older: it goes first, so crit waits 2.5 s + 5 s.
  assert.deepEqual(
    q.items().map((i) => [i.priority, i.position, i.estimatedWaitMs]),
    [
      ['critical', 0, 7500],
      ['low', 1, 2500],
    ],
  );
  await clock.advance(2500);
  hold();
  await Promise.all([low, crit]);
  assert.deepEqual(order, ['low', 'crit']);
});

test('onChange fires on enqueue, dispatch, cancel', async () => {
  const { q, changes } = setup();
  const hold = await q.acquire('m', 'normal', never());
  const before = changes();
  const p = q.acquire('m', 'normal', never());
  assert.equal(changes(), before + 1);
  hold();
  (await p)();
  assert.equal(changes(), before + 2);
});
