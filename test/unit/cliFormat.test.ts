// CLI rendering: model text cannot drive the terminal; attempts and sizes read well.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fmtBytes, formatAttempts, printable } from '../../server/cli/format';

test('printable: escape sequences and other controls are neutralised, newlines and tabs kept', () => {
  assert.equal(printable('a\u001b[2Jb\u0007c'), 'a·[2Jb·c');
  assert.equal(printable('line1\n\tline2'), 'line1\n\tline2');
  assert.equal(printable('\u009b31m'), '·31m');
  assert.equal(printable('héllo ✓'), 'héllo ✓');
});

test('fmtBytes picks the unit', () => {
  assert.equal(fmtBytes(512), '512 B');
  assert.equal(fmtBytes(470_016), '459 KB');
  assert.equal(fmtBytes(207 * 1024 ** 2), '207 MB');
  assert.equal(fmtBytes(6.1 * 1024 ** 3), '6.1 GB');
});

test('formatAttempts shows model, outcome, failure, latency and retry', () => {
  const s = formatAttempts([
    { model: 'cloud/a', outcome: 'error', failure: 'network', latencyMs: 12, retry: 0, message: 'refused' },
    { model: 'cloud/a', outcome: 'error', failure: 'network', latencyMs: 3, retry: 1 },
    { model: 'local/b', outcome: 'success', latencyMs: 900, retry: 0 },
  ]);
  const lines = s.split('\n');
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /cloud\/a\s+error\s+network\s+12 ms\s+refused/);
  assert.match(lines[1]!, /retry 1/);
  assert.match(lines[2]!, /local\/b\s+success\s+900 ms/);
});
