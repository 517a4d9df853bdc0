// Offline mode's state machine on a fake clock: which failures take the network or one host offline,
// that loopback hosts are never dragged along, the growing probe interval, and the way back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  networkCodeOfMessage,
  OFFLINE_PROBE_FIRST_MS,
  OFFLINE_PROBE_MAX_MS,
  OfflineTracker,
} from '../../server/core/offline';
import { FakeClock } from '../helpers/fakeClock';

const OPENAI = 'https://api.openai.com';
const ANTHROPIC = 'https://api.anthropic.com';
const OLLAMA = 'http://127.0.0.1:11434';

function setup(opts: { network?: () => boolean; probe?: (origin: string) => boolean } = {}) {
  const clock = new FakeClock();
  const probes: { origin: string; at: number }[] = [];
  let changes = 0;
  const t = new OfflineTracker({
    clock,
    probe: (origin) => {
      probes.push({ origin, at: clock.now() });
      return Promise.resolve(opts.probe?.(origin) ?? false);
    },
    hasNetwork: opts.network ?? (() => true),
    onChange: () => changes++,
  });
  return { clock, t, probes, changes: () => changes };
}

describe('offline mode', () => {
  it('one network-level failure takes every remote host offline at once, never a loopback one', () => {
    const { t } = setup();
    assert.equal(t.unavailable(OPENAI), undefined);
    assert.equal(t.unavailable(ANTHROPIC), undefined);
    t.noteFailure(OPENAI, 'ENETUNREACH');
    assert.match(t.unavailable(OPENAI) ?? '', /^offline: no network route/);
    assert.match(t.unavailable(ANTHROPIC) ?? '', /^offline: no network route/);
    assert.equal(t.unavailable(OLLAMA), undefined, 'a server on this machine is still reachable');
    assert.deepEqual(t.view()?.hosts, [ANTHROPIC, OPENAI]);
    assert.equal(t.view()?.network, true);
  });

  it('a refused connection or an unknown name takes only its own host offline', () => {
    const { t } = setup();
    t.noteFailure(OPENAI, 'ECONNREFUSED');
    t.noteFailure(OLLAMA, 'ECONNREFUSED');
    t.noteFailure('https://typo.example', 'ENOTFOUND');
    assert.match(t.unavailable(OPENAI) ?? '', /connection refused/);
    assert.match(t.unavailable(OLLAMA) ?? '', /connection refused/);
    assert.match(t.unavailable('https://typo.example') ?? '', /no such host/);
    assert.equal(t.unavailable(ANTHROPIC), undefined);
    assert.equal(t.view()?.network, false);
  });

  it('other failures (resets, timeouts, no code) change nothing', () => {
    const { t, changes } = setup();
    for (const code of ['ECONNRESET', 'ETIMEDOUT', undefined]) t.noteFailure(OPENAI, code);
    assert.equal(t.unavailable(OPENAI), undefined);
    assert.equal(changes(), 0);
  });

  it('no network interface up: offline before any call', () => {
    const { t } = setup({ network: () => false });
    assert.match(t.unavailable(OPENAI) ?? '', /no network interface/);
    assert.equal(t.unavailable(OLLAMA), undefined);
  });

  it('probes once per interval, doubling up to the maximum, and comes back when a probe connects', async () => {
    let up = false;
    const { clock, t, probes } = setup({ probe: () => up });
    t.noteFailure(OPENAI, 'EAI_AGAIN');
    let expected = OFFLINE_PROBE_FIRST_MS;
    const gaps: number[] = [];
    let last = clock.now();
    for (let i = 0; i < 7; i++) {
      await clock.advance(expected);
      assert.equal(probes.length, i + 1, `probe ${i + 1} after ${expected} ms`);
      gaps.push(probes[i]!.at - last);
      last = probes[i]!.at;
      expected = Math.min(expected * 2, OFFLINE_PROBE_MAX_MS);
    }
    assert.deepEqual(gaps, [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    assert.ok(t.unavailable(ANTHROPIC));
    up = true;
    await clock.advance(OFFLINE_PROBE_MAX_MS);
    assert.equal(t.unavailable(ANTHROPIC), undefined, 'back online after a probe connected');
    assert.equal(t.view(), undefined);
    assert.equal(clock.pending(), 0, 'no probe left running');
  });

  it('a success from a remote host ends network-wide offline at once', () => {
    const { t, clock } = setup();
    t.noteFailure(OPENAI, 'ENETUNREACH');
    t.noteSuccess(ANTHROPIC);
    assert.equal(t.unavailable(OPENAI), undefined);
    assert.equal(clock.pending(), 0);
  });

  it('networkCodeOfMessage reads the code a provider network error ends with', () => {
    assert.equal(
      networkCodeOfMessage('openai/x: network error: no network route to https://a (ENETUNREACH)'),
      'ENETUNREACH',
    );
    assert.equal(networkCodeOfMessage('openai/x: network error: request to https://a failed: boom'), undefined);
    fc.assert(
      fc.property(fc.string(), (m) => {
        const c = networkCodeOfMessage(m);
        return c === undefined || /^[A-Z][A-Z_]+$/.test(c);
      }),
    );
  });
});
