// runAttempt arms only the deadlines that can end an attempt (issue 21: one timer less per plain
// request): a first-token or idle deadline at or past the attempt's cannot fire first, so it is not
// armed, and the attempt still ends with the attempt deadline's own message.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runAttempt, type AttemptLimits } from '../../server/core/attempt';
import type { GenerateOptions, Provider } from '../../server/core/types';
import { FakeClock } from '../helpers/fakeClock';

/** A provider that sends `deltas` pieces at once, then never finishes. */
function silentAfter(deltas: number): Provider {
  return {
    id: 'p',
    type: 'test',
    kind: 'cloud',
    generate: (_req, opts: GenerateOptions) => {
      for (let i = 0; i < deltas; i++) opts.onDelta?.(`d${i}`);
      return new Promise(() => {});
    },
  };
}

function start(clock: FakeClock, limits: AttemptLimits, deltas = 0) {
  return runAttempt({
    clock,
    provider: silentAfter(deltas),
    request: { model: 'm', prompt: 'x' } as never,
    signal: new AbortController().signal,
    limits,
  });
}

/** Starts an attempt, checks the timers armed, lets `afterMs` pass and checks the failure's message. */
async function endsWith(limits: AttemptLimits, deltas: number, timers: number, afterMs: number, message: RegExp) {
  const clock = new FakeClock();
  const outcome = start(clock, limits, deltas);
  await clock.advance(0);
  assert.equal(clock.pending(), timers, 'timers armed');
  await clock.advance(afterMs);
  const o = await outcome;
  assert.equal(o.ok, false);
  assert.match(!o.ok ? o.message : '', message);
  return clock;
}

describe('attempt deadlines', () => {
  it('a plain call (all deadlines equal) arms one timer and ends on the attempt deadline', async () => {
    const clock = await endsWith(
      { attemptMs: 1000, firstTokenMs: 1000, idleMs: 1000 },
      0,
      1,
      1000,
      /no complete answer within .* \(timeoutMs\)/,
    );
    assert.equal(clock.pending(), 0);
  });

  it('a shorter first-token deadline is armed and ends the attempt first', async () => {
    await endsWith(
      { attemptMs: 1000, firstTokenMs: 200, idleMs: 300 },
      0,
      2,
      200,
      /no first token within .* \(firstTokenTimeoutMs\)/,
    );
  });

  it('the idle deadline is armed at the first delta only when shorter than the attempt', async () => {
    // Deltas at once: the first-token deadline is met; only a shorter idle deadline joins the attempt's.
    await endsWith({ attemptMs: 1000, firstTokenMs: 1000, idleMs: 1000 }, 2, 1, 1000, /no complete answer/);
    await endsWith(
      { attemptMs: 1000, firstTokenMs: 200, idleMs: 300 },
      2,
      2,
      300,
      /stream stalled: no data for .* after 2 deltas/,
    );
  });
});
