// Runs inside a real VS Code extension host against the real daemon (dist/cli.js) over IPC.
// Every wait is on a daemon notification or client event (see waitFor), never a fixed sleep.
import * as assert from 'node:assert/strict';
import { suite, suiteSetup, suiteTeardown, test } from 'mocha';
import * as vscode from 'vscode';
import type { BackstopApi } from '../../client/api';
import type { ChainResult, CompleteResult } from '../../protocol';
import { methods } from '../../protocol';
import { nextEvent, waitFor } from './waitFor';

const EXTENSION_ID = 'backstop.backstop';
const CHAIN = ['cloud/gpt-x', 'local/tiny'];
/** Uptime is measured by another process; allow for rounding. */
const CLOCK_SLACK_MS = 1000;
/** "$(pulse) Backstop 66", or "untested" before any request went through the chain (issue 17). */
const SCORE_TEXT = /^\$\((pulse|loading~spin|circle-large-outline)\) Backstop (\d+|untested)$/;

function cfg(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('backstop');
}

async function ok<R>(
  p: Promise<{ ok: true; value: R } | { ok: false; failure: { kind: string; message: string } }>,
): Promise<R> {
  const r = await p;
  if (!r.ok) assert.fail(`daemon request failed: ${r.failure.kind}: ${r.failure.message}`);
  return r.value;
}

export function registerExtensionTests(): void {
  suite('Backstop in a real VS Code', () => {
    let api: BackstopApi;

    suiteSetup(async () => {
      const ext = vscode.extensions.getExtension<BackstopApi>(EXTENSION_ID);
      assert.ok(ext, `extension ${EXTENSION_ID} is not installed in this host`);
      api = await ext.activate();
    });

    suiteTeardown(async () => {
      for (const key of ['chain', 'maxRetries', 'timeoutMs', 'inline.timeoutMs', 'strategy']) {
        await cfg().update(key, key === 'chain' ? CHAIN : undefined, vscode.ConfigurationTarget.Workspace);
      }
    });

    test('activation starts the daemon and the status bar shows its health score', async () => {
      const status = await waitFor(
        'daemon running with a first status',
        [api.onDidChangeDaemonState, api.onDidChangeStatus],
        () => api.daemonState === 'running' && api.status,
      );
      assert.ok(status.healthScore >= 0 && status.healthScore <= 100, `healthScore ${status.healthScore}`);
      assert.deepEqual(status.chain, CHAIN, 'the daemon got the chain from the workspace settings');
      const m = SCORE_TEXT.exec(api.statusBarText);
      assert.ok(m, `status bar text "${api.statusBarText}" shows no score`);
      if (api.status?.healthLevel === 'untested') assert.equal(m[2], 'untested');
      else assert.equal(Number(m[2]), api.status?.healthScore);
    });

    test('backstop.failoverDrill forces the primary to fail and the local fallback answers', async () => {
      // Discovery of the local folder runs after start-up; statusChanged reports it.
      await waitFor(
        'local/tiny discovered (status.models.ready)',
        [api.onDidChangeStatus],
        () => (api.status?.models.ready ?? 0) >= 1,
      );
      const fallback = nextEvent('a backstop/fallback notification', api.onFallback, (f) => f.from === 'cloud/gpt-x');
      const result = await vscode.commands.executeCommand<CompleteResult | undefined>('backstop.failoverDrill');
      assert.ok(result, 'the drill got an answer');
      assert.equal(result.modelUsed, 'local/tiny');
      assert.equal(result.fallbackOccurred, true);
      assert.equal(result.attempts[0]?.model, 'cloud/gpt-x');
      assert.notEqual(result.attempts[0]?.outcome, 'success');
      const f = await fallback;
      assert.equal(f.to, 'local/tiny');
    });

    test('inline completions: off by default, then answered on their own chain, and cancellable', async () => {
      const doc = await vscode.workspace.openTextDocument({
        language: 'javascript',
        content: 'function add(a, b) {\n  return ',
      });
      const pos = doc.lineAt(1).range.end;
      const context: vscode.InlineCompletionContext = {
        triggerKind: vscode.InlineCompletionTriggerKind.Invoke,
        selectedCompletionInfo: undefined,
        requestUuid: 'test',
        requestIssuedDateTime: Date.now(),
        earliestShownDateTime: Date.now(),
      } as vscode.InlineCompletionContext;
      const ask = (token = new vscode.CancellationTokenSource().token) =>
        Promise.resolve(api.inlineProvider.provideInlineCompletionItems(doc, pos, context, token));
      assert.equal(await ask(), undefined, 'disabled by default');
      await cfg().update('inlineCompletions.enabled', true, vscode.ConfigurationTarget.Workspace);
      const applied = nextEvent('inline.chain applied', api.onConfigApplied);
      await cfg().update('inline.chain', ['local/tiny'], vscode.ConfigurationTarget.Workspace);
      await applied;
      try {
        const fallbacks: string[] = [];
        const sub = api.onFallback((f) => fallbacks.push(f.from));
        const items = await ask();
        sub.dispose();
        const list = Array.isArray(items) ? items : (items?.items ?? []);
        assert.ok(
          list.length === 1 && typeof list[0]?.insertText === 'string' && list[0].insertText.length > 0,
          'one non-empty item',
        );
        assert.deepEqual(fallbacks, [], 'the inline chain (local only) did not touch the failing cloud primary');
        const cts = new vscode.CancellationTokenSource();
        const cancelled = ask(cts.token);
        cts.cancel();
        assert.equal(await cancelled, undefined, 'cancelled during the debounce');
      } finally {
        await cfg().update('inlineCompletions.enabled', undefined, vscode.ConfigurationTarget.Workspace);
        await cfg().update('inline.chain', undefined, vscode.ConfigurationTarget.Workspace);
      }
    });

    test('every contributed command is registered', async () => {
      const ext = vscode.extensions.getExtension(EXTENSION_ID);
      const contributed = (
        ext?.packageJSON as { contributes: { commands: { command: string }[] } }
      ).contributes.commands.map((c) => c.command);
      assert.ok(contributed.length >= 12);
      const registered = new Set(await vscode.commands.getCommands(true));
      assert.deepEqual(
        contributed.filter((c) => !registered.has(c)),
        [],
      );
    });

    test('backstop.switchPrimary changes the chain the daemon reports and keeps it in settings', async () => {
      const result = await vscode.commands.executeCommand<ChainResult | undefined>(
        'backstop.switchPrimary',
        'local/tiny',
      );
      assert.deepEqual(result?.chain, ['local/tiny', 'cloud/gpt-x']);
      const status = await ok(api.request(methods.status));
      assert.deepEqual(status.chain, ['local/tiny', 'cloud/gpt-x']);
      await waitFor(
        'status bar state follows statusChanged',
        [api.onDidChangeStatus],
        () => api.status?.chain[0] === 'local/tiny',
      );
      assert.deepEqual(cfg().get('chain'), ['local/tiny', 'cloud/gpt-x']);
    });

    test('backstop.switchPrimary with an unknown provider is refused and the chain is unchanged', async () => {
      const before = (await ok(api.request(methods.status))).chain;
      const result = await vscode.commands.executeCommand<ChainResult | undefined>(
        'backstop.switchPrimary',
        'nosuch/model',
      );
      assert.equal(result, undefined);
      assert.deepEqual((await ok(api.request(methods.status))).chain, before);
    });

    test('a settings change reaches the daemon without a restart', async () => {
      const changes: [string, number, (c: Record<string, unknown>) => boolean][] = [
        ['maxRetries', 4, (c) => c.maxRetries === 4],
        ['inline.timeoutMs', 1500, (c) => (c.inline as { timeoutMs?: number } | undefined)?.timeoutMs === 1500],
      ];
      for (const [key, value, sent] of changes) {
        const applied = nextEvent(`setConfig with ${key} accepted`, api.onConfigApplied, (c) =>
          sent(c as Record<string, unknown>),
        );
        await cfg().update(key, value, vscode.ConfigurationTarget.Workspace);
        await applied;
      }
      const config = await ok(api.request(methods.getConfig));
      assert.equal(config.maxRetries, 4);
      assert.equal(config.inline.timeoutMs, 1500);
    });

    test('an invalid setting is rejected by the daemon and surfaced with its name', async () => {
      const rejected = waitFor(
        'the daemon rejects backstop.timeoutMs',
        [api.onConfigRejected],
        () => api.configRejection,
      );
      try {
        await cfg().update('timeoutMs', 10, vscode.ConfigurationTarget.Workspace);
        const rejection = await rejected;
        assert.equal(rejection.setting, 'backstop.timeoutMs');
        assert.match(rejection.message, /timeoutMs/);
        const config = await ok(api.request(methods.getConfig));
        assert.equal(config.timeoutMs, 30_000, 'the previous value stays in effect');
      } finally {
        // Later tests restart the daemon: it must not start with the invalid value.
        await cfg().update('timeoutMs', undefined, vscode.ConfigurationTarget.Workspace);
      }
    });

    test('backstop.restartDaemon restarts the daemon, which gets the settings again', async () => {
      const t0 = Date.now();
      const states: string[] = [];
      const sub = api.onDidChangeDaemonState((s) => states.push(s));
      try {
        const restarted = await vscode.commands.executeCommand<boolean>('backstop.restartDaemon');
        assert.equal(restarted, true);
      } finally {
        sub.dispose();
      }
      assert.deepEqual(
        states.filter((s) => s === 'restarting' || s === 'running'),
        ['restarting', 'running'],
      );
      const after = await ok(api.request(methods.status));
      assert.ok(
        after.uptimeMs <= Date.now() - t0 + CLOCK_SLACK_MS,
        `uptime ${after.uptimeMs} ms: not a new daemon process`,
      );
      const config = await ok(api.request(methods.getConfig));
      assert.equal(config.maxRetries, 4, 'settings are sent again as initializationOptions');
      assert.deepEqual(
        config.chain,
        ['local/tiny', 'cloud/gpt-x'],
        'the switched chain survives the restart (kept in settings)',
      );
    });

    test('a daemon that refuses invalid settings at start comes back when they are fixed', async () => {
      const rejected = nextEvent('setConfig rejected', api.onConfigRejected);
      await cfg().update('maxRetries', 99, vscode.ConfigurationTarget.Workspace);
      await rejected;
      try {
        const restarted = await vscode.commands.executeCommand<boolean>('backstop.restartDaemon');
        assert.equal(restarted, false, 'initialize with maxRetries 99 must fail');
        assert.equal(api.daemonState, 'failed');
        assert.match(api.statusBarText, /error/);
        assert.match(api.daemonDetail ?? '', /maxRetries/, 'the reason names the setting');
      } finally {
        const running = nextEvent(
          'the daemon running again after the fix',
          api.onDidChangeDaemonState,
          (s) => s === 'running',
        );
        await cfg().update('maxRetries', 4, vscode.ConfigurationTarget.Workspace);
        await running;
      }
      assert.equal((await ok(api.request(methods.getConfig))).maxRetries, 4);
    });

    test('a daemon that dies is restarted by itself (bounded backoff)', async () => {
      const pid = api.daemonPid;
      assert.ok(pid, 'the daemon runs');
      const states: string[] = [];
      const sub = api.onDidChangeDaemonState((s) => states.push(s));
      try {
        const running = nextEvent('the daemon running again', api.onDidChangeDaemonState, (s) => s === 'running');
        process.kill(pid, 'SIGKILL');
        await running;
      } finally {
        sub.dispose();
      }
      assert.equal(states[0], 'restarting', `states: ${states.join(' → ')}`);
      assert.ok(api.daemonPid && api.daemonPid !== pid, 'a new daemon process');
      const status = await ok(api.request(methods.status));
      assert.deepEqual(status.chain, ['local/tiny', 'cloud/gpt-x']);
    });

    test('two restarts at once both succeed, and a crash afterwards is still restarted by itself', async () => {
      const [a, b] = await Promise.all([
        vscode.commands.executeCommand<boolean>('backstop.restartDaemon'),
        vscode.commands.executeCommand<boolean>('backstop.restartDaemon'),
      ]);
      assert.deepEqual([a, b], [true, true], 'neither restart failed ("Client is currently stopping")');
      assert.equal(api.daemonState, 'running');
      const pid = api.daemonPid;
      assert.ok(pid, 'the daemon runs');
      // A crash now is a real crash: no flag left over from the restarts may swallow it.
      const running = nextEvent(
        'the daemon running again after the crash',
        api.onDidChangeDaemonState,
        (s) => s === 'running',
      );
      process.kill(pid, 'SIGKILL');
      await running;
      assert.ok(api.daemonPid && api.daemonPid !== pid, 'a new daemon process');
      await waitFor('the status bar shows a score again', [api.onDidChangeStatus, api.onDidChangeDaemonState], () =>
        SCORE_TEXT.test(api.statusBarText),
      );
    });

    test('backstop.showDiagnostics opens the diagnostics webview', async () => {
      await vscode.commands.executeCommand('backstop.showDiagnostics');
      const tab = await waitFor(
        'a Backstop Diagnostics tab',
        [vscode.window.tabGroups.onDidChangeTabs as vscode.Event<unknown>],
        () =>
          vscode.window.tabGroups.all
            .flatMap((g) => g.tabs)
            .find((t) => t.input instanceof vscode.TabInputWebview && t.label === 'Backstop Diagnostics'),
      );
      assert.match((tab.input as vscode.TabInputWebview).viewType, /backstop\.diagnostics/);
    });
  });
}
