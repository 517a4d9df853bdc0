import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Status } from '../../../protocol';
import { clock, md, renderStatus } from '../../../client/statusView';

const NOW = Date.parse('2026-01-01T12:00:00Z');

function status(over: Partial<Status> = {}): Status {
  return {
    version: '0.1.0',
    uptimeMs: 1000,
    healthScore: 87,
    healthLevel: 'good',
    activeModel: 'local/tiny',
    chain: ['cloud/gpt-x', 'local/tiny'],
    strategy: 'sequential',
    exhausted: false,
    queueLength: 2,
    models: { total: 2, ready: 1 },
    ...over,
  };
}

test('a healthy daemon shows its score with the pulse icon and no background', () => {
  const v = renderStatus({ daemon: 'running', status: status(), busy: 0, nowMs: NOW });
  assert.equal(v.text, '$(pulse) 87');
  assert.equal(v.background, undefined);
  assert.equal(v.ticking, false);
});

test('fair is a warning, poor an error', () => {
  assert.equal(
    renderStatus({ daemon: 'running', status: status({ healthLevel: 'fair', healthScore: 55 }), busy: 0, nowMs: NOW })
      .background,
    'warning',
  );
  assert.equal(
    renderStatus({ daemon: 'running', status: status({ healthLevel: 'poor', healthScore: 20 }), busy: 0, nowMs: NOW })
      .background,
    'error',
  );
});

test('a spinner while a request runs, here or in another client', () => {
  assert.equal(renderStatus({ daemon: 'running', status: status(), busy: 1, nowMs: NOW }).text, '$(loading~spin) 87');
  assert.equal(
    renderStatus({ daemon: 'running', status: status({ inFlight: 1 }), busy: 0, nowMs: NOW }).text,
    '$(loading~spin) 87',
  );
});

test('exhausted: a countdown to exhaustedUntil, ticking', () => {
  const v = renderStatus({
    daemon: 'running',
    status: status({ exhausted: true, exhaustedUntil: new Date(NOW + 83_000).toISOString() }),
    busy: 0,
    nowMs: NOW,
  });
  assert.equal(v.text, '$(watch) 1:23');
  assert.equal(v.background, 'error');
  assert.equal(v.ticking, true);
  assert.match(v.tooltip, /\*\*Exhausted\*\*/);
});

test('the tooltip has active model, chain, last fallback, queue and recommendation', () => {
  const v = renderStatus({
    daemon: 'running',
    busy: 0,
    nowMs: NOW,
    status: status({ topRecommendation: 'Add a local model' }),
    lastFallback: {
      requestId: 'r1',
      from: 'cloud/gpt-x',
      to: 'local/tiny',
      failure: 'network',
      message: 'ECONNREFUSED',
      at: new Date(NOW).toISOString(),
    },
  });
  assert.match(v.tooltip, /Active model: `local\/tiny`/);
  assert.match(v.tooltip, /Chain: `cloud\/gpt-x` → `local\/tiny`/);
  assert.match(v.tooltip, /Last fallback: `cloud\/gpt-x` → `local\/tiny` — network: ECONNREFUSED/);
  assert.match(v.tooltip, /Queue: 2 waiting/);
  assert.match(v.tooltip, /Recommendation: Add a local model/);
});

test('the newer of the status and notification fallbacks is shown', () => {
  const older = {
    requestId: 'a',
    from: 'x/old',
    to: 'y/old',
    failure: 'timeout' as const,
    message: 'm',
    at: new Date(NOW - 10_000).toISOString(),
  };
  const newer = {
    requestId: 'b',
    from: 'x/new',
    to: 'y/new',
    failure: 'timeout' as const,
    message: 'm',
    at: new Date(NOW).toISOString(),
  };
  const v = renderStatus({
    daemon: 'running',
    status: status({ lastFallback: older }),
    lastFallback: newer,
    busy: 0,
    nowMs: NOW,
  });
  assert.match(v.tooltip, /x\/new/);
  assert.doesNotMatch(v.tooltip, /x\/old/);
});

test('a failed daemon shows an error with its reason and a restart link', () => {
  const v = renderStatus({ daemon: 'failed', daemonDetail: 'invalid configuration: maxRetries', busy: 0, nowMs: NOW });
  assert.equal(v.text, '$(error) Backstop');
  assert.equal(v.background, 'error');
  assert.match(v.tooltip, /maxRetries/);
  assert.match(v.tooltip, /command:backstop\.restartDaemon/);
});

test('daemon text cannot inject Markdown links', () => {
  assert.equal(md('[x](command:evil)'), '\\[x\\]\\(command:evil\\)');
  const v = renderStatus({
    daemon: 'running',
    status: status({ topRecommendation: '[click](command:workbench.action.quit)' }),
    busy: 0,
    nowMs: NOW,
  });
  assert.doesNotMatch(v.tooltip, /\[click\]\(command:workbench/);
});

test('clock formats m:ss and never goes negative', () => {
  assert.equal(clock(0), '0:00');
  assert.equal(clock(59_001), '1:00');
  assert.equal(clock(-5), '0:00');
});

test('a last-fallback time the client cannot parse is shown as text, never as Markdown', () => {
  const at = '[click](command:backstop.clearApiKey)';
  const lastFallback = { requestId: 'r1', from: 'a/x', to: 'b/y', failure: 'timeout' as const, message: 'slow', at };
  const v = renderStatus({ daemon: 'running', status: status({ lastFallback }), busy: 0, nowMs: NOW });
  assert.ok(v.tooltip.includes(md(at)), v.tooltip);
  assert.ok(!v.tooltip.includes(`(${at})`), 'no raw link in the tooltip');
});
