import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFromWebview, isToWebview } from '../../../protocol/webview';

test('well-formed webview messages pass the guard', () => {
  for (const m of [
    { type: 'ready' },
    { type: 'setPrimary', model: 'local/tiny' },
    { type: 'benchmark' },
    { type: 'benchmark', models: ['a/b'] },
    { type: 'setChain', chain: [] },
    { type: 'saveSettings', settings: { timeoutMs: 5000, maxRetries: 0, autoSwitch: true, monitorVram: false } },
    { type: 'monitorStart', durationS: 10 },
    { type: 'monitorStop' },
    { type: 'resetSettings' },
    { type: 'showLogs' },
    { type: 'refresh' },
  ])
    assert.equal(isFromWebview(m), true, JSON.stringify(m));
});

test('malformed or out-of-range webview messages are dropped', () => {
  for (const m of [
    null,
    'ready',
    {},
    { type: 'nope' },
    { type: 'setPrimary' },
    { type: 'setPrimary', model: 42 },
    { type: 'setChain', chain: [1] },
    { type: 'benchmark', models: 'a/b' },
    { type: 'saveSettings', settings: { timeoutMs: 10, maxRetries: 0, autoSwitch: true, monitorVram: true } },
    { type: 'saveSettings', settings: { timeoutMs: 5000, maxRetries: 11, autoSwitch: true, monitorVram: true } },
    { type: 'monitorStart', durationS: 5 },
    { type: 'monitorStart', durationS: 30.5 },
  ])
    assert.equal(isFromWebview(m), false, JSON.stringify(m));
});

test('the webview only accepts known message types', () => {
  assert.equal(isToWebview({ type: 'status', status: {} }), true);
  assert.equal(isToWebview({ type: 'eval', code: 'x' }), false);
  assert.equal(isToWebview([]), false);
});

test('cancelBenchmark passes the guard (no payload); settingsSaved reaches the webview', () => {
  assert.equal(isFromWebview({ type: 'cancelBenchmark' }), true);
  assert.equal(isFromWebview({ type: 'cancelBenchmarks' }), false);
  assert.equal(isToWebview({ type: 'settingsSaved', changed: ['timeoutMs'], reset: false }), true);
});
