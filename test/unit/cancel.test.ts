// Cancel stands where an AbortController stood inside the engine (issue 21): it must behave like one for
// everything the engine does with it — abort once, reason, listeners once and in order, removal,
// following a parent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Cancel } from '../../server/core/cancel';

type Op = { add: number } | { remove: number } | { abort: string | undefined };

test('property: a Cancel fires, forgets and reports like an AbortController, for any sequence', () => {
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ add: fc.nat({ max: 4 }) }),
    fc.record({ remove: fc.nat({ max: 4 }) }),
    fc.record({ abort: fc.option(fc.string({ maxLength: 4 }), { nil: undefined }) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
      const real = new AbortController();
      const ours = new Cancel();
      const calls: { real: string[]; ours: string[] } = { real: [], ours: [] };
      // Listener k of each side, made once so that adding it twice is adding the same listener.
      const listeners = (side: 'real' | 'ours') => Array.from({ length: 5 }, (_, k) => () => calls[side].push(`${k}`));
      const lr = listeners('real');
      const lo = listeners('ours');
      for (const o of ops) {
        if ('add' in o) {
          real.signal.addEventListener('abort', lr[o.add]!, { once: true });
          ours.addEventListener('abort', lo[o.add]!, { once: true });
        } else if ('remove' in o) {
          real.signal.removeEventListener('abort', lr[o.remove]!);
          ours.removeEventListener('abort', lo[o.remove]!);
        } else {
          real.abort(o.abort);
          ours.abort(o.abort);
        }
        assert.deepEqual(calls.ours, calls.real);
        assert.equal(ours.aborted, real.signal.aborted);
        if (real.signal.reason instanceof DOMException) assert.equal((ours.reason as DOMException).name, 'AbortError');
        else assert.equal(ours.reason, real.signal.reason);
      }
    }),
    { numRuns: 1000 },
  );
});

test('follow: aborts with the parent, at once if the parent has; stops following when told', () => {
  const parent = new AbortController();
  const child = new Cancel();
  const stop = child.follow(parent.signal);
  parent.abort('the caller left');
  assert.equal(child.aborted, true);
  assert.equal(child.reason, 'the caller left');

  const late = new Cancel();
  late.follow(parent.signal);
  assert.equal(late.aborted, true, 'a parent that aborted already');
  stop();

  const p2 = new Cancel();
  const c2 = new Cancel();
  const unfollow = c2.follow(p2);
  unfollow();
  p2.abort('later');
  assert.equal(c2.aborted, false, 'a child that stopped following stays as it was');
});
