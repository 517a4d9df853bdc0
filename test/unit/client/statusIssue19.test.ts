// The status item's parts of issue 19: the lock while the privacy guard applies to the active editor,
// "offline — local models" while the network is down, and each purpose's chain and budget in the tooltip.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Status } from '../../../protocol';
import { renderStatus } from '../../../client/statusView';

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
    queueLength: 0,
    models: { total: 2, ready: 2 },
    ...over,
  };
}

const render = (s: Status, localOnly?: boolean) =>
  renderStatus({ daemon: 'running', status: s, busy: 0, nowMs: NOW, ...(localOnly ? { localOnly } : {}) });

test('a lock leads the status item while the guard applies, and the tooltip says why', () => {
  const v = render(status(), true);
  assert.equal(v.text, '$(lock) $(pulse) Backstop 87');
  assert.match(v.tooltip, /\*\*Local only\*\*: requests from this editor never reach a cloud model/);
  assert.doesNotMatch(render(status()).text, /lock/);
});

test('network down: "offline — local models", a warning, with the reason and the next check', () => {
  const offline = {
    network: true,
    hosts: ['https://api.openai.com'],
    since: new Date(NOW - 60_000).toISOString(),
    reason: 'offline: no network route (ENETUNREACH)',
    nextProbeAt: new Date(NOW + 4000).toISOString(),
  };
  const v = render(status({ offline }), true);
  assert.equal(v.text, '$(lock) $(debug-disconnect) Backstop offline — local models');
  assert.equal(v.background, 'warning');
  assert.match(
    v.tooltip,
    /\*\*Offline — local models\*\*: offline: no network route \\?\(ENETUNREACH\\?\); next check in 4 s/,
  );
  const hostOnly = render(status({ offline: { ...offline, network: false } }));
  assert.equal(hostOnly.text, '$(pulse) Backstop 87', 'one host down is not "offline"');
  assert.match(hostOnly.tooltip, /Offline hosts: `https:\/\/api.openai.com`/);
});

test('each purpose with a budget or traffic: its chain, budget, share within it and p95', () => {
  const v = render(
    status({
      purposes: {
        inline: { chain: ['local/tiny'], budgetMs: 400, requests: 20, withinBudget: 0.95, p95FirstTokenMs: 380 },
        complete: { chain: ['cloud/gpt-x'], budgetMs: null, requests: 0 },
        chat: { chain: ['cloud/gpt-x', 'local/tiny'], budgetMs: null, requests: 3, p95FirstTokenMs: 900 },
        gateway: { chain: [], budgetMs: null, requests: 0 },
      },
    }),
  );
  assert.match(v.tooltip, /- inline: `local\/tiny` — budget 400 ms, 95 % within, p95 first token 380 ms/);
  assert.match(v.tooltip, /- chat: `cloud\/gpt-x` → `local\/tiny` — no budget, p95 first token 900 ms/);
  assert.doesNotMatch(v.tooltip, /- complete:/, 'a purpose with no budget and no traffic says nothing');
});
