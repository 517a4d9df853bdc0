// The diagnostics webview's message handling: the real webview script loads under the strict CSP and
// asks for a snapshot; FromWebview messages pass the runtime guard or are dropped; the daemon's event
// history reaches the view after each request; monitoring updates live; the panel survives a reload.
import * as assert from 'node:assert/strict';
import { test } from 'mocha';
import * as vscode from 'vscode';
import type { DiagnosticsPanel } from '../../client/webviewPanel';
import { methods } from '../../protocol';
import type { Snapshot, ToWebview } from '../../protocol/webview';
import type { HistoryEvent } from '../../protocol/types';
import { cfg, FAKE_MODELS, fakeId, ok, useChain, type Env } from './env';
import { nextEvent, waitFor } from './waitFor';

const diagnosticsTabs = (): vscode.Tab[] =>
  vscode.window.tabGroups.all
    .flatMap((g) => g.tabs)
    .filter((t) => t.input instanceof vscode.TabInputWebview && t.label === 'Backstop Diagnostics');

async function freshPanel(): Promise<DiagnosticsPanel> {
  await vscode.window.tabGroups.close(diagnosticsTabs());
  const panel = await vscode.commands.executeCommand<DiagnosticsPanel>('backstop.showDiagnostics');
  assert.ok(panel, 'backstop.showDiagnostics returns its panel');
  return panel;
}

export function registerWebviewTests(env: Env): void {
  test('the diagnostics webview script runs, sends "ready" and receives a snapshot with the models', async () => {
    const panel = await freshPanel();
    // Nothing here posts "ready": the webview's own script does, once loaded under the CSP.
    const posted = await nextEvent('a snapshot for the webview', panel.onDidPost, (m) => m.type === 'snapshot');
    const snapshot = (posted as Extract<ToWebview, { type: 'snapshot' }>).snapshot as Snapshot;
    const ids = snapshot.models?.map((m) => m.id) ?? [];
    assert.ok(ids.includes('local/tiny') && ids.includes('fake/ok'), `models: ${ids.join(', ')}`);
    assert.ok(
      snapshot.status && snapshot.health && snapshot.system,
      `sections unavailable: ${JSON.stringify(snapshot.unavailable)}`,
    );
  });

  test('webview messages: malformed ones are dropped; setPrimary (make primary) and setChain change the chain', async () => {
    await useChain(env, ['local/tiny', 'cloud/gpt-x']);
    const panel = await vscode.commands.executeCommand<DiagnosticsPanel>('backstop.showDiagnostics');
    const malformed: unknown[] = [
      'setPrimary',
      null,
      [],
      { type: 'setPrimary' },
      { type: 'setPrimary', model: 42 },
      { type: 'setPrimary', model: '' },
      { type: 'setChain', chain: 'fake/ok' },
      { type: 'setChain', chain: [1] },
      { type: 'makeEverythingPrimary' },
      { type: 'saveSettings', settings: { timeoutMs: 10, maxRetries: 1, autoSwitch: true, monitorVram: true } },
      { type: 'monitorStart', durationS: 1e9 },
    ];
    for (const m of malformed) assert.equal(await panel.receive(m), false, `accepted ${JSON.stringify(m)}`);
    assert.deepEqual(
      (await ok(env.api.request(methods.status))).chain,
      ['local/tiny', 'cloud/gpt-x'],
      'nothing changed',
    );

    const event = nextEvent(
      'the chain change in the event log',
      panel.onDidPost,
      (m) => m.type === 'event' && m.event.text.startsWith('chain: fake/ok'),
    );
    assert.equal(await panel.receive({ type: 'setPrimary', model: 'fake/ok' }), true);
    assert.deepEqual((await ok(env.api.request(methods.status))).chain, ['fake/ok', 'local/tiny', 'cloud/gpt-x']);
    assert.deepEqual(cfg().get('chain'), ['fake/ok', 'local/tiny', 'cloud/gpt-x'], 'kept in settings');
    await event;

    assert.equal(await panel.receive({ type: 'setChain', chain: ['local/tiny'] }), true);
    await waitFor(
      'status chain [local/tiny]',
      [env.api.onDidChangeStatus],
      () => env.api.status?.chain.join() === 'local/tiny',
    );
    assert.deepEqual(cfg().get('chain'), ['local/tiny']);
  });

  test('webview saveSettings reaches the daemon; resetSettings restores the defaults', async () => {
    const panel = await vscode.commands.executeCommand<DiagnosticsPanel>('backstop.showDiagnostics');
    // The four settings are written one by one; monitorVram is the last.
    const applied = nextEvent(
      'monitorVram false applied',
      env.api.onConfigApplied,
      (c) => (c as { monitorVram?: boolean }).monitorVram === false,
    );
    assert.equal(
      await panel.receive({
        type: 'saveSettings',
        settings: { timeoutMs: 20_000, maxRetries: 1, autoSwitch: true, monitorVram: false },
      }),
      true,
    );
    await applied;
    const saved = await ok(env.api.request(methods.getConfig));
    assert.equal(saved.timeoutMs, 20_000);
    assert.equal(saved.maxRetries, 1);
    assert.equal(saved.monitorVram, false);
    const reset = nextEvent(
      'monitorVram default applied',
      env.api.onConfigApplied,
      (c) => (c as { monitorVram?: boolean }).monitorVram === true,
    );
    assert.equal(await panel.receive({ type: 'resetSettings' }), true);
    await reset;
    assert.equal(cfg().inspect('timeoutMs')?.workspaceValue, undefined);
    const defaults = await ok(env.api.request(methods.getConfig));
    assert.equal(defaults.monitorVram, true);
    assert.equal(defaults.timeoutMs, 30_000);
  });

  test('webview saveSettings writes only what changed, refreshes once and confirms; resetSettings clears user and workspace values', async () => {
    const panel = await vscode.commands.executeCommand<DiagnosticsPanel>('backstop.showDiagnostics');
    const current = {
      timeoutMs: Number(cfg().get('timeoutMs')),
      maxRetries: Number(cfg().get('maxRetries')),
      autoSwitch: cfg().get('autoSwitch') !== false,
      monitorVram: cfg().get('monitorVram') !== false,
    };
    const writes: string[] = [];
    const posted: ToWebview[] = [];
    const subs = [
      vscode.workspace.onDidChangeConfiguration((e) => {
        for (const k of Object.keys(current)) if (e.affectsConfiguration(`backstop.${k}`)) writes.push(k);
      }),
      panel.onDidPost((m) => posted.push(m)),
    ];
    try {
      assert.equal(await panel.receive({ type: 'saveSettings', settings: current }), true);
      assert.deepEqual(writes, [], 'nothing written when nothing changed');
      assert.deepEqual(
        posted.filter((m) => m.type === 'settingsSaved'),
        [{ type: 'settingsSaved', changed: [], reset: false }],
      );

      posted.length = 0;
      const applied = nextEvent(
        'timeoutMs applied',
        env.api.onConfigApplied,
        (c) => (c as { timeoutMs?: number }).timeoutMs === 25_000,
      );
      assert.equal(await panel.receive({ type: 'saveSettings', settings: { ...current, timeoutMs: 25_000 } }), true);
      await applied;
      assert.deepEqual(writes, ['timeoutMs'], 'only the changed key is written');
      assert.equal(
        posted.filter((m) => m.type === 'snapshot').length,
        1,
        'one refresh after the save, not one per key',
      );
      assert.deepEqual(posted.at(-1), { type: 'settingsSaved', changed: ['timeoutMs'], reset: false });

      // A value in the user settings AND one in the workspace: reset must clear both, or the user value
      // would stay in effect.
      await cfg().update('timeoutMs', 40_000, vscode.ConfigurationTarget.Global);
      const back = nextEvent(
        'the default timeout applied',
        env.api.onConfigApplied,
        (c) => (c as { timeoutMs?: number }).timeoutMs === 30_000,
      );
      assert.equal(await panel.receive({ type: 'resetSettings' }), true);
      const info = cfg().inspect('timeoutMs');
      assert.equal(info?.workspaceValue, undefined);
      assert.equal(info?.globalValue, undefined);
      assert.deepEqual(posted.at(-1), { type: 'settingsSaved', changed: ['timeoutMs'], reset: true });
      await back;
      assert.equal((await ok(env.api.request(methods.getConfig))).timeoutMs, 30_000);
    } finally {
      for (const d of subs) d.dispose();
    }
  });

  test('a webview benchmark can be cancelled: the daemon stops it and the view leaves the busy state', async () => {
    env.fake.behave('slow', { kind: 'hang' });
    const panel = await vscode.commands.executeCommand<DiagnosticsPanel>('backstop.showDiagnostics');
    const posted: ToWebview[] = [];
    const sub = panel.onDidPost((m) => posted.push(m));
    try {
      const calls = env.fake.calls('slow').length;
      const run = panel.receive({ type: 'benchmark', models: ['fake/slow'] });
      await waitFor('the daemon reached the model', [env.fake.onRequest], () => env.fake.calls('slow').length > calls);
      assert.equal(await panel.receive({ type: 'cancelBenchmark' }), true);
      assert.equal(await run, true);
      assert.deepEqual(
        posted.filter((m) => m.type === 'busy').map((m) => (m as { busy: boolean }).busy),
        [true, false],
      );
      assert.deepEqual(
        posted.filter((m) => m.type === 'benchmarkResults' || m.type === 'unavailable'),
        [],
        'a cancel is neither a result nor a failure',
      );
      await waitFor('nothing in flight', [env.api.onDidChangeStatus], () => env.api.status?.inFlight === 0);
    } finally {
      sub.dispose();
    }
  });

  test('the snapshot lists the configured models (chain and named provider models) so the view can fold away the rest', async () => {
    await useChain(env, ['local/tiny', 'fake/ok']);
    const panel = await freshPanel();
    const posted = await nextEvent('a snapshot', panel.onDidPost, (m) => m.type === 'snapshot');
    const snapshot = (posted as Extract<ToWebview, { type: 'snapshot' }>).snapshot;
    const configured = new Set(snapshot.configured ?? []);
    for (const id of ['local/tiny', ...FAKE_MODELS.map(fakeId)]) assert.ok(configured.has(id), `${id} is configured`);
  });

  test('the view gets the daemon history: a request that fell through every model comes with each reason, and counts as a fallback and a failure', async () => {
    await useChain(env, ['fake/ok', 'fake/slow']);
    const panel = await freshPanel();
    await nextEvent('a snapshot', panel.onDidPost, (m) => m.type === 'snapshot');
    const seen = new Set((await ok(env.api.request(methods.events, {}))).events.map((e) => e.id));
    const before = await ok(env.api.request(methods.stats));
    const isNewFailure = (e: HistoryEvent | undefined): boolean => !!e && e.kind === 'failed' && !seen.has(e.id);
    const history = nextEvent(
      'a history message with the failed request',
      panel.onDidPost,
      (m) => m.type === 'history' && isNewFailure(m.events[0]),
    );
    const r = await env.api.request(methods.complete, {
      prompt: 'x',
      chain: ['fake/ok', 'fake/slow'],
      forceFail: { models: ['fake/ok', 'fake/slow'], kind: 'server_error' },
    });
    assert.equal(r.ok, false, 'every model failed');
    const m = (await history) as Extract<ToWebview, { type: 'history' }>;
    const [failed, ...rest] = m.events;
    assert.deepEqual(
      failed?.models?.map((x) => [x.model, x.failure]),
      [
        ['fake/ok', 'server_error'],
        ['fake/slow', 'server_error'],
      ],
    );
    assert.ok(
      rest.some((e) => e.kind === 'fallback' && e.from === 'fake/ok' && e.to === 'fake/slow' && !seen.has(e.id)),
      'the fallback between them is in the history too',
    );
    assert.ok(m.stats, 'the counters come with the history');
    assert.equal(m.stats.totalRequests, before.totalRequests + 1);
    assert.equal(m.stats.fallbackRequests, before.fallbackRequests + 1, 'it fell through two models: a fallback');
    assert.equal(m.stats.failedRequests, (before.failedRequests ?? 0) + 1);
  });

  test('monitoring updates live: samples reach the view every second while the session runs, before Stop', async () => {
    const panel = await freshPanel();
    const live = nextEvent(
      'three samples of a running session',
      panel.onDidPost,
      (m) => m.type === 'monitor' && m.running && m.samples.length >= 3,
    );
    assert.equal(await panel.receive({ type: 'monitorStart', durationS: 10 }), true);
    const m = (await live) as Extract<ToWebview, { type: 'monitor' }>;
    const at = m.samples.map((x) => Date.parse(x.at));
    assert.ok(
      at.every((t, i) => i === 0 || t > (at[i - 1] ?? 0)),
      'samples in time order',
    );
    const stopped = nextEvent(
      'the stopped session',
      panel.onDidPost,
      (x) => x.type === 'monitor' && !x.running && x.samples.length >= 3,
    );
    assert.equal(await panel.receive({ type: 'monitorStop' }), true);
    await stopped;
  });

  test('the panel is restored after a window reload: a serializer for its view type is registered', () => {
    assert.throws(
      () =>
        vscode.window.registerWebviewPanelSerializer('backstop.diagnostics', {
          deserializeWebviewPanel: () => Promise.resolve(),
        }),
      /already registered/,
    );
  });
}
