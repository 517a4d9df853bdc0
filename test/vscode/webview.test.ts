// The diagnostics webview's message handling: the real webview script loads under the strict CSP and
// asks for a snapshot; FromWebview messages pass the runtime guard or are dropped.
import * as assert from 'node:assert/strict';
import { test } from 'mocha';
import * as vscode from 'vscode';
import type { DiagnosticsPanel } from '../../client/webviewPanel';
import { methods } from '../../protocol';
import type { Snapshot, ToWebview } from '../../protocol/webview';
import { cfg, ok, useChain, type Env } from './env';
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
}
