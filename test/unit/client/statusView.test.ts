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
  assert.equal(v.text, '$(pulse) Backstop 87');
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
  assert.equal(
    renderStatus({ daemon: 'running', status: status(), busy: 1, nowMs: NOW }).text,
    '$(loading~spin) Backstop 87',
  );
  assert.equal(
    renderStatus({ daemon: 'running', status: status({ inFlight: 1 }), busy: 0, nowMs: NOW }).text,
    '$(loading~spin) Backstop 87',
  );
});

test('exhausted: a countdown to exhaustedUntil, ticking', () => {
  const v = renderStatus({
    daemon: 'running',
    status: status({ exhausted: true, exhaustedUntil: new Date(NOW + 83_000).toISOString() }),
    busy: 0,
    nowMs: NOW,
  });
  assert.equal(v.text, '$(watch) Backstop 1:23');
  assert.match(v.tooltip, /retry in 1 min 23 s/);
  assert.equal(v.background, 'error');
  assert.equal(v.ticking, true);
  assert.match(v.tooltip, /\*\*Exhausted\*\*/);
});

test('the tooltip has the answering model, chain, last fallback, queue and recommendation', () => {
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
  assert.match(v.tooltip, /Answering: `local\/tiny`/);
  assert.match(v.tooltip, /Chain: `cloud\/gpt-x` → `local\/tiny`/);
  assert.match(v.tooltip, /Last fallback: `cloud\/gpt-x` → `local\/tiny` — network: ECONNREFUSED/);
  assert.match(v.tooltip, /Queue: 2 waiting/);
  assert.match(v.tooltip, /\*\*Recommendation:\*\* Add a local model/);
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

/** What issue 17 forbids in anything a person reads: raw milliseconds over a second, "+N ms", ISO times. */
const RAW_TIME = [/\b\d{4,} ?ms\b/, /\+\d+ ?ms/, /\d{4}-\d\d-\d\dT\d\d:\d\d/];

test('the name is on the item; the compact setting leaves the icon and the score', () => {
  assert.equal(
    renderStatus({ daemon: 'running', status: status(), busy: 0, nowMs: NOW, compact: true }).text,
    '$(pulse) 87',
  );
  const ex = status({ exhausted: true, exhaustedUntil: new Date(NOW + 83_000).toISOString() });
  assert.equal(
    renderStatus({ daemon: 'running', status: ex, busy: 0, nowMs: NOW, compact: true }).text,
    '$(watch) 1:23',
  );
  // Down, the name stays: an icon alone says nothing.
  assert.equal(renderStatus({ daemon: 'failed', busy: 0, nowMs: NOW, compact: true }).text, '$(error) Backstop');
});

test('untested: no number pretends to be health, no background, and the tooltip says why', () => {
  const v = renderStatus({
    daemon: 'running',
    status: status({ healthLevel: 'untested', healthScore: 75, activeModel: null }),
    busy: 0,
    nowMs: NOW,
  });
  assert.equal(v.text, '$(circle-large-outline) Backstop untested');
  assert.equal(v.background, undefined);
  assert.match(v.tooltip, /not tested yet/);
  assert.match(v.tooltip, /no request answered yet/);
});

test('each factor in words with its points, summing to the score', () => {
  const factors = [
    { name: 'chainAvailability', score: 44, weight: 0.3, detail: '3 in the chain: 1 answering, 2 failing' },
    { name: 'circuits', score: 60, weight: 0.2, detail: 'cloud/a half-open' },
    { name: 'successRate', score: 33, weight: 0.2, detail: '33 % of recent requests succeeded' },
  ];
  const v = renderStatus({
    daemon: 'running',
    status: status({ healthScore: 45, healthLevel: 'fair', factors }),
    busy: 0,
    nowMs: NOW,
  });
  assert.match(v.tooltip, /Chain models answering: 19 of 43 points — 3 in the chain: 1 answering, 2 failing/);
  assert.match(v.tooltip, /Circuit breakers: 17 of 29 points/);
  assert.match(v.tooltip, /Recent requests: 9 of 29 points/);
  assert.doesNotMatch(v.tooltip, /chainAvailability/);
  const points = [...v.tooltip.matchAll(/: (\d+) of \d+ points/g)].reduce((a, m) => a + Number(m[1]), 0);
  assert.ok(Math.abs(points - 45) <= 2, `${points}`);
  assert.equal(v.background, 'warning');
});

test('no raw milliseconds or ISO times in the tooltip (issue 17)', () => {
  const at = new Date(NOW - 125_000).toISOString();
  const v = renderStatus({
    daemon: 'running',
    busy: 0,
    nowMs: NOW,
    status: status({
      exhausted: true,
      exhaustedUntil: new Date(NOW + 280_631).toISOString(),
      activeAt: at,
      lastFallback: { requestId: 'r', from: 'a/x', to: 'b/y', failure: 'server_error', message: 'HTTP 503', at },
      factors: [{ name: 'circuits', score: 0, weight: 0.2, detail: 'a/x open' }],
    }),
  });
  for (const re of RAW_TIME) assert.doesNotMatch(v.tooltip, re);
  assert.match(v.tooltip, /retry in 4 min 41 s/);
  assert.match(v.tooltip, /2 min 5 s ago/);
  assert.match(v.tooltip, /server error: HTTP 503/);
});

test('a URL in daemon text stays readable (a code span, no escapes inside a link)', () => {
  const out = md('offline: connection refused (http://127.0.0.1:9)');
  assert.equal(out, 'offline: connection refused \\(`http://127.0.0.1:9`\\)');
});

test('purpose budgets and first-token times read in s, never raw ms over a second', () => {
  const purposes = {
    complete: { chain: ['local/tiny'], budgetMs: 2_500, requests: 3, withinBudget: 1, p95FirstTokenMs: 9_904 },
  };
  const v = renderStatus({ daemon: 'running', status: status({ purposes } as Partial<Status>), busy: 0, nowMs: NOW });
  assert.match(v.tooltip, /budget 2\.5 s, 100 % within, p95 first token 9\.9 s/);
  for (const re of RAW_TIME) assert.doesNotMatch(v.tooltip, re);
});
