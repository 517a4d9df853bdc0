// The queue as the engine meets it (a real RequestQueue behind EngineDeps.acquire, fake clock):
// `backstop/queue/cancel` ends the request as cancelled, and a displaced request fails with queue_full.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCodes } from '../../protocol/errors';
import { EngineError } from '../../server/core/engine';
import { RequestQueue } from '../../server/core/queue';
import { ok, setupEngine } from '../helpers/fakeProvider';

function withQueue(maxSize = 10) {
  let queue: RequestQueue | undefined;
  const h = setupEngine({
    acquire: (clock) => {
      queue = new RequestQueue({ clock, maxSize: () => maxSize, maxWaitMs: () => 600_000, concurrency: () => 1 });
      return (model, priority, signal, opts) => queue!.acquire(model, priority, signal, opts);
    },
  });
  return { ...h, queue: queue! };
}

describe('queue through the engine', () => {
  it('queue/cancel of a waiting request ends it with the cancellation error (-32800), not exhausted', async () => {
    const h = withQueue();
    h.provider.script('a', ok('a answer', { ttftMs: 5000 }));
    h.provider.script('b', ok('b answer'));
    const first = h.start(['a']);
    await h.clock.advance(10);
    const second = h.start(['a', 'b']).then(
      (r) => ({ ok: true as const, r }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    await h.clock.advance(10);
    const [item] = h.queue.items();
    assert.ok(item, 'the second request waits');
    assert.equal(h.queue.cancel(item.id), true);
    await h.clock.advance(10);
    const o = await second;
    assert.ok(!o.ok && o.e instanceof EngineError, JSON.stringify(o));
    assert.equal(o.e.code, ErrorCodes.RequestCancelled);
    assert.equal(o.e.data.kind, 'cancelled');
    assert.equal(h.provider.callsTo('b').length, 0, 'not failed over to the next model');
    await h.clock.run(first);
  });

  it('a full queue displaces a low request for a critical one; the displaced request gets queue_full', async () => {
    const h = withQueue(1);
    h.provider.script('a', ok('a answer', { ttftMs: 5000 }));
    const running = h.start(['a']);
    await h.clock.advance(10);
    const low = h.start(['a'], { priority: 'low' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await h.clock.advance(10);
    const critical = h.start(['a'], { priority: 'critical' });
    await h.clock.advance(10);
    const e = await low;
    assert.ok(e instanceof EngineError, String(e));
    assert.equal(e.code, ErrorCodes.QueueFull);
    assert.match(e.message, /displaced from the full queue by a critical-priority request/);
    const r = await h.clock.run(critical);
    assert.equal(r.text, 'a answer');
    await h.clock.run(running);
  });
});
