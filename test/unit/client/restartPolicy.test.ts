import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestartPolicy } from '../../../client/restartPolicy';

test('restart delays grow exponentially up to the cap', () => {
  const p = new RestartPolicy(10, 500, 4000, 60_000);
  const delays = [0, 1, 2, 3, 4, 5].map((i) => p.onCrash(i * 10));
  assert.deepEqual(
    delays.map((d) => (d.restart ? d.delayMs : -1)),
    [500, 1000, 2000, 4000, 4000, 4000],
  );
});

test('after maxTries crashes within the window the daemon is not restarted', () => {
  const p = new RestartPolicy(3, 100, 1000, 60_000);
  assert.equal(p.onCrash(0).restart, true);
  assert.equal(p.onCrash(1000).restart, true);
  assert.equal(p.onCrash(2000).restart, true);
  assert.deepEqual(p.onCrash(3000), { restart: false, crashes: 4 });
});

test('crashes older than the window no longer count', () => {
  const p = new RestartPolicy(2, 100, 1000, 10_000);
  p.onCrash(0);
  p.onCrash(1000);
  const d = p.onCrash(20_000);
  assert.deepEqual(d, { restart: true, delayMs: 100, attempt: 1 });
});

test('reset (a manual restart) gives a fresh budget', () => {
  const p = new RestartPolicy(1, 100, 1000, 60_000);
  p.onCrash(0);
  assert.equal(p.onCrash(1).restart, false);
  p.reset();
  assert.equal(p.onCrash(2).restart, true);
});
