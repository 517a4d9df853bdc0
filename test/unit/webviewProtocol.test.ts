// The webview's limits are the configuration schema's, and the FromWebview schema refuses what a
// compromised webview could send (fast-check: arbitrary JSON values are refused unless well-formed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { z } from 'zod';
import { configSchema } from '../../protocol/config';
import { MONITOR_DURATION_LIMITS_S, parseFromWebview, SETTINGS_LIMITS } from '../../protocol/webview';
import { requests } from '../../protocol/contract';

type Json = { properties: Record<string, { minimum?: number; maximum?: number }> };

test('settings limits in the webview protocol equal the config schema', () => {
  const json = z.toJSONSchema(configSchema, { io: 'input' }) as unknown as Json;
  for (const key of ['timeoutMs', 'maxRetries'] as const) {
    assert.equal(SETTINGS_LIMITS[key].min, json.properties[key]?.minimum, `${key} minimum`);
    assert.equal(SETTINGS_LIMITS[key].max, json.properties[key]?.maximum, `${key} maximum`);
  }
});

test('monitor duration limits equal backstop/monitor params', () => {
  const start = { action: 'start' as const, intervalMs: 1000 };
  const ok = (d: number) => requests.monitor.params.safeParse({ ...start, durationS: d }).success;
  assert.equal(ok(MONITOR_DURATION_LIMITS_S.min), true);
  assert.equal(ok(MONITOR_DURATION_LIMITS_S.min - 1), false);
  assert.equal(ok(MONITOR_DURATION_LIMITS_S.max), true);
  assert.equal(ok(MONITOR_DURATION_LIMITS_S.max + 1), false);
});

test('arbitrary values never pass as a message unless their type and payload are right', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const m = parseFromWebview(v);
      if (m === undefined) return;
      // Whatever passed is one of the declared shapes, with no extra surprises in its type field.
      assert.equal(typeof m.type, 'string');
      assert.deepEqual(parseFromWebview(m), m);
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string(), fc.anything(), (type, payload) => {
      const known = ['ready', 'refresh', 'cancelBenchmark', 'resetSettings', 'monitorStop', 'showLogs'];
      const r = parseFromWebview({ type, model: payload, chain: payload });
      if (r)
        assert.ok(known.includes(r.type) || r.type === 'setPrimary' || r.type === 'setChain' || r.type === 'benchmark');
    }),
    { numRuns: 2000 },
  );
});
