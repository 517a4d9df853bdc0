// The daemon's event history: bounded, newest first, filtered by kind, persisted through a Store, and
// restored entry by entry (a damaged entry is dropped, never the whole history, never a throw).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HistoryEvent as HistoryEventSchema } from '../../protocol/schemas';
import type { Attempt, HistoryEvent } from '../../protocol/types';
import { EVENTS_STORE_KEY, EventHistory, failedEvent, fellBack } from '../../server/core/eventHistory';
import { MemoryStore } from '../helpers/memoryStore';

const fallback = (i: number): Omit<HistoryEvent, 'id'> => ({
  at: new Date(1_700_000_000_000 + i * 1000).toISOString(),
  kind: 'fallback',
  requestId: `r${i}`,
  from: 'p/a',
  to: 'p/b',
  failure: 'server_error',
  message: `503 number ${i}`,
});

const attempt = (model: string, outcome: Attempt['outcome'], failure?: Attempt['failure']): Attempt => ({
  model,
  outcome,
  latencyMs: 5,
  retry: 0,
  ...(failure ? { failure, message: `${model} ${failure}` } : {}),
});

describe('EventHistory', () => {
  it('keeps the last N, newest first, and filters by kind', () => {
    const h = new EventHistory(undefined, 5);
    for (let i = 0; i < 8; i++) h.add(fallback(i));
    h.add({ ...fallback(8), kind: 'failed' });
    assert.deepEqual(
      h.recent().map((e) => e.requestId),
      ['r8', 'r7', 'r6', 'r5', 'r4'],
    );
    assert.deepEqual(
      h.recent(2, 'fallback').map((e) => e.requestId),
      ['r7', 'r6'],
    );
    assert.deepEqual(
      h.recent(10, 'failed').map((e) => e.requestId),
      ['r8'],
    );
  });

  it('survives a restart through the Store, and clips long messages', () => {
    const store = new MemoryStore();
    const h = new EventHistory(store);
    h.add(fallback(1));
    h.add({ ...fallback(2), message: 'x'.repeat(5000) });
    const again = new EventHistory(store);
    assert.deepEqual(again.recent(), h.recent());
    assert.ok((again.recent()[0]?.message.length ?? 0) <= 500);
  });

  it('drops damaged entries read back from disk and keeps the rest', () => {
    const store = new MemoryStore();
    const good = new EventHistory().add(fallback(1));
    store.write(EVENTS_STORE_KEY, {
      version: 1,
      events: [null, 7, { ...good, failure: 'no_such_kind' }, { ...good, at: 3 }, good],
    });
    assert.deepEqual(new EventHistory(store).recent(), [good]);
  });

  it('never throws on whatever is on disk, and restores only valid entries (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (junk) => {
        const store = new MemoryStore();
        store.write(EVENTS_STORE_KEY, junk);
        const restored = new EventHistory(store).recent();
        for (const e of restored) assert.ok(HistoryEventSchema.safeParse(e).success);
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.jsonValue(), fc.constant(new EventHistory().add(fallback(0))))), (events) => {
        const store = new MemoryStore();
        store.write(EVENTS_STORE_KEY, { version: 1, events });
        const restored = new EventHistory(store).recent();
        for (const e of restored) assert.ok(HistoryEventSchema.safeParse(e).success);
      }),
    );
  });
});

describe('failedEvent and fellBack', () => {
  it('names each model once with the reason of its last attempt; the failure is that of the last model', () => {
    const attempts = [
      attempt('p/a', 'error', 'rate_limited'),
      attempt('p/a', 'error', 'server_error'),
      attempt('p/b', 'skipped', 'unsupported'),
      attempt('p/c', 'timeout', 'timeout'),
    ];
    const e = failedEvent(attempts);
    assert.equal(e.failure, 'timeout');
    assert.deepEqual(
      e.models?.map((m) => [m.model, m.failure]),
      [
        ['p/a', 'server_error'],
        ['p/b', 'unsupported'],
        ['p/c', 'timeout'],
      ],
    );
    assert.deepEqual(failedEvent([]), { failure: 'unknown' });
  });

  it('a request fell back when more than one model was really tried (skips and retries do not count)', () => {
    assert.equal(fellBack([attempt('p/a', 'error', 'server_error'), attempt('p/b', 'error', 'timeout')]), true);
    assert.equal(fellBack([attempt('p/a', 'error', 'server_error'), attempt('p/a', 'error', 'server_error')]), false);
    assert.equal(fellBack([attempt('p/a', 'skipped', 'unsupported'), attempt('p/b', 'error', 'timeout')]), false);
    assert.equal(fellBack([]), false);
  });
});
