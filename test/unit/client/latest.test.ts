import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Latest } from '../../../client/latest';

test('an answer read after a newer push does not replace it (the e2e race: models, then modelsChanged)', () => {
  const models = new Latest<string[]>();
  // refresh(): Promise.all([models, getConfig]) — the models answer (no local model yet) arrives...
  const settle = models.ask();
  const answer = ['cloud/gpt-x'];
  // ...then modelsChanged with the local model ready, then getConfig's answer ends the Promise.all.
  models.push(['cloud/gpt-x', 'local/tiny']);
  assert.deepEqual(settle(answer), ['cloud/gpt-x', 'local/tiny']);
  assert.deepEqual(models.value, ['cloud/gpt-x', 'local/tiny']);
});

test('an answer with no push since it was asked is kept', () => {
  const status = new Latest<number>();
  status.push(1);
  const settle = status.ask();
  assert.equal(settle(2), 2);
  assert.equal(status.value, 2);
  // A second answer to a later question replaces it too.
  assert.equal(status.ask()(3), 3);
});

/**
 * The daemon changes its state (each change sends a push) and answers questions in the order they reach
 * it, on one ordered channel; the client reads that channel in order but may apply an answer late (after
 * other messages), as an awaited Promise.all does. Whatever the interleaving, what the client holds never
 * goes back in time, and once everything is read and applied it is the daemon's current state.
 */
test('property: with any interleaving, the value never goes back and ends at the daemon state', () => {
  type Op = 'change' | 'ask' | 'serve' | 'deliver' | 'apply';
  const op = fc.constantFrom<Op>('change', 'ask', 'serve', 'deliver', 'apply');
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 60 }), (ops, picks) => {
      const latest = new Latest<number>();
      let daemon = 0; // the daemon's state: a version that only grows
      const toDaemon: ((answer: number) => number)[] = []; // questions in flight, each with its settle
      const toClient: ({ push: number } | { answer: number; settle: (a: number) => number })[] = [];
      const pending: (() => number)[] = []; // answers read but not applied yet
      let seen = -1;
      let pick = 0;
      const check = (): void => {
        const v = latest.value;
        if (v === undefined) return;
        assert.ok(v >= seen, `went back from ${seen} to ${v}`);
        seen = v;
      };
      const step = (o: Op): void => {
        if (o === 'change') toClient.push({ push: ++daemon });
        else if (o === 'ask') toDaemon.push(latest.ask());
        else if (o === 'serve') {
          const settle = toDaemon.shift();
          if (settle) toClient.push({ answer: daemon, settle });
        } else if (o === 'deliver') {
          const m = toClient.shift();
          if (m && 'push' in m) latest.push(m.push);
          else if (m) pending.push(() => m.settle(m.answer));
        } else if (pending.length) {
          const [apply] = pending.splice((picks[pick++] ?? 0) % pending.length, 1);
          apply!();
        }
        check();
      };
      for (const o of ops) step(o);
      while (toDaemon.length) step('serve');
      while (toClient.length) step('deliver');
      while (pending.length) step('apply');
      if (latest.value !== undefined) assert.equal(latest.value, daemon);
    }),
    { numRuns: 2000 },
  );
});
