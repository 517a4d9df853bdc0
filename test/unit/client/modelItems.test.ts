import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ModelInfo } from '../../../protocol';
import { chainEntryHealth, describeModel, formatAttempts, sortModels } from '../../../client/modelItems';

function model(id: string, over: Partial<ModelInfo> = {}): ModelInfo {
  return {
    id,
    provider: id.split('/')[0] ?? '',
    name: id.split('/')[1] ?? '',
    kind: 'local',
    availability: 'ready',
    capabilities: [],
    health: {
      state: 'healthy',
      successCount: 0,
      failureCount: 0,
      consecutiveFailures: 0,
      successRate: 1,
      avgLatencyMs: null,
    },
    ...over,
  };
}

test('a model line shows availability, circuit, fit, speed and chain position', () => {
  const m = model('local/tiny', {
    fit: { fits: true, gpuLayers: 0, estimatedVramBytes: 0, estimatedRamBytes: 1 },
    benchmark: { model: 'local/tiny', ok: true, tokensPerSecond: 123.4, at: '' },
  });
  const line = describeModel(m, ['local/tiny']);
  assert.equal(line.description, 'ready · untested · fits in RAM · 123 tok/s · primary');
  const open = describeModel(
    model('cloud/x', { kind: 'cloud', availability: 'unreachable', health: { ...m.health, state: 'open' } }),
    ['local/tiny', 'cloud/x'],
  );
  assert.equal(open.description, 'unreachable · circuit open · fallback #1');
});

test('ready models first, then by chain position', () => {
  const sorted = sortModels([model('b/x', { availability: 'unreachable' }), model('z/z'), model('a/a')], ['z/z']);
  assert.deepEqual(
    sorted.map((m) => m.id),
    ['z/z', 'a/a', 'b/x'],
  );
});

test('attempt traces are one line each', () => {
  assert.deepEqual(
    formatAttempts([
      { model: 'cloud/x', outcome: 'error', failure: 'network', message: 'ECONNREFUSED', latencyMs: 3.2, retry: 1 },
      { model: 'local/tiny', outcome: 'success', latencyMs: 40, retry: 0 },
    ]),
    ['1. cloud/x (retry 1): error [network] in 3 ms — ECONNREFUSED', '2. local/tiny: success in 40 ms'],
  );
});

test('a chain entry says answering, failing (with the last failure), untested, or why it cannot be called', () => {
  const base = model('cloud/a', { kind: 'cloud' });
  assert.deepEqual(chainEntryHealth(base), { icon: 'circle-large-outline', text: 'untested' });
  const answering = model('cloud/a', { kind: 'cloud', health: { ...base.health, successCount: 4 } });
  assert.equal(chainEntryHealth(answering).text, 'answering · 100% of 4 calls ok');
  const failing = model('cloud/a', {
    kind: 'cloud',
    health: {
      ...base.health,
      successCount: 1,
      failureCount: 3,
      consecutiveFailures: 3,
      successRate: 0.25,
      state: 'half_open',
      lastFailure: 'server_error',
      lastFailureMessage: 'HTTP 503',
    },
  });
  assert.deepEqual(chainEntryHealth(failing), {
    icon: 'warning',
    text: 'failing · 25% of 4 calls ok',
    detail: 'Last failure: HTTP 503',
  });
  const gone = model('cloud/a', { kind: 'cloud', availability: 'unreachable', reason: 'network: ECONNREFUSED' });
  assert.deepEqual(chainEntryHealth(gone), { icon: 'error', text: 'unreachable', detail: 'network: ECONNREFUSED' });
  assert.equal(chainEntryHealth(undefined).text, 'not a known model');
});
