// Issue 17 in a real VS Code: the status item names itself and tells the truth (untested before any
// request, the score's factors in words, no raw milliseconds or ISO times), the compact form, the
// remote-settings hint, Show Attempts from a fallback, and Edit Chain's health per entry.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'mocha';
import * as vscode from 'vscode';
import type { CompleteResult } from '../../protocol';
import { methods } from '../../protocol';
import { cfg, editorWith, ok, useChain, type Env } from './env';
import { nextEvent, waitFor } from './waitFor';

/** What a person must never read: raw milliseconds over a second, "+N ms", ISO timestamps. */
const RAW_TIME = [/\b\d{4,} ?ms\b/, /\+\d+ ?ms/, /\d{4}-\d\d-\d\dT\d\d:\d\d/];

function assertHumanTimes(text: string): void {
  for (const re of RAW_TIME) assert.doesNotMatch(text, re, text);
}

/** The next attempts view that opens (one already open from an earlier test does not count). */
export function newAttemptsDocument(): Promise<vscode.TextDocument> {
  const before = new Set(vscode.workspace.textDocuments.map((d) => d.uri.toString()));
  return waitFor('the attempts view', [vscode.workspace.onDidOpenTextDocument], () =>
    vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'backstop-attempts' && !before.has(d.uri.toString())),
  );
}

export function registerFirstPartyTests(env: Env): void {
  test('status item: "Backstop" and the score, a tooltip with each factor in words and no raw ms or ISO times', async () => {
    env.fake.behave('deny', { kind: 'deny' });
    await useChain(env, ['fake/deny', 'fake/ok']);
    await editorWith('a = ', { start: 4 });
    env.ui.answerMessages(() => undefined);
    const r = await vscode.commands.executeCommand<CompleteResult | undefined>('backstop.complete', { maxTokens: 8 });
    assert.equal(r?.modelUsed, 'fake/ok');
    const s = await waitFor('the status names the answering model', [env.api.onDidChangeStatus], () =>
      env.api.status?.activeModel === 'fake/ok' && env.api.status.lastFallback ? env.api.status : undefined,
    );
    assert.match(env.api.statusBarText, new RegExp(`^\\$\\((pulse|loading~spin)\\) Backstop ${s.healthScore}$`));
    const tip = env.api.statusBarTooltip;
    assert.match(tip, /Answering: `fake\/ok` \(last answer (just now|\d+ s ago)/);
    assert.match(tip, /Chain models answering: \d+ of \d+ points/);
    assert.match(tip, /Circuit breakers: \d+ of \d+ points/);
    assert.doesNotMatch(tip, /chainAvailability|successRate/);
    assert.match(tip, /Last fallback: `fake\/deny` → `fake\/ok` — auth/);
    assertHumanTimes(tip);
    // The band decides the colour: fair is a warning, poor an error, good and better none.
    const expected =
      s.healthLevel === 'poor'
        ? 'statusBarItem.errorBackground'
        : s.healthLevel === 'fair'
          ? 'statusBarItem.warningBackground'
          : undefined;
    assert.equal(env.api.statusBarBackground, expected, `${s.healthScore} ${s.healthLevel}`);
  });

  test('status item: backstop.statusBar.compact leaves the icon and the score', async () => {
    await cfg().update('statusBar.compact', true, vscode.ConfigurationTarget.Workspace);
    try {
      await waitFor('the compact text', [vscode.workspace.onDidChangeConfiguration], () =>
        /^\$\([\w~-]+\) (\d+|untested)$/.test(env.api.statusBarText),
      );
    } finally {
      await cfg().update('statusBar.compact', undefined, vscode.ConfigurationTarget.Workspace);
    }
    await waitFor('the name back', [vscode.workspace.onDidChangeConfiguration], () =>
      env.api.statusBarText.includes(' Backstop '),
    );
  });

  test('status item: a chain nobody has tried is "untested", never 100 "excellent"', async () => {
    // Models of the fake provider no test has called: their health records are empty.
    await useChain(env, ['fake/never-called-a', 'fake/never-called-b']);
    const s = await waitFor('untested', [env.api.onDidChangeStatus], () =>
      env.api.status?.healthLevel === 'untested' ? env.api.status : undefined,
    );
    // The active model stays the one that served the last request, whatever chain came since.
    assert.ok(s.activeModel === null || !['fake/never-called-a', 'fake/never-called-b'].includes(s.activeModel));
    assert.equal(env.api.statusBarText, '$(circle-large-outline) Backstop untested');
    assert.equal(env.api.statusBarBackground, undefined);
    assert.match(env.api.statusBarTooltip, /not tested yet/);
    assert.match(env.api.statusBarTooltip, /Run Failover Drill/);
  });

  test('remote settings: a machine setting in the User settings is named once, with buttons that move it and open the Remote settings', async () => {
    const file = env.api.remoteSettings.userSettingsFile;
    const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
    const dirs = ['/tmp/backstop-misplaced-models'];
    try {
      assert.equal(cfg().inspect('local.modelsDirs')?.globalValue, undefined, 'not set anywhere VS Code reads');
      env.ui.answerMessages((m) =>
        m.buttons.includes('Move to Remote Settings') ? 'Move to Remote Settings' : undefined,
      );
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify({ 'backstop.local.modelsDirs': dirs }, null, 2));
      // VS Code ignores it: no user value appears (this is a remote window).
      assert.equal(cfg().inspect('local.modelsDirs')?.globalValue, undefined);
      assert.deepEqual(await env.api.remoteSettings.check(), ['backstop.local.modelsDirs']);
      const hint = await env.ui.until('the remote-settings hint', () =>
        env.ui.messages.find((m) => m.text.includes('backstop.local.modelsDirs')),
      );
      assert.equal(hint.level, 'warning');
      assert.match(hint.text, /User settings.*remote window.*Remote settings/);
      assert.deepEqual(hint.buttons, ['Move to Remote Settings', 'Open Remote Settings']);
      await env.api.remoteSettings.check(); // a second look (the file watcher's too) says nothing more
      await waitFor(
        'moved',
        [vscode.workspace.onDidChangeConfiguration],
        () => JSON.stringify(cfg().inspect('local.modelsDirs')?.globalValue) === JSON.stringify(dirs),
      );
      await env.ui.until('the moved note', () =>
        env.ui.messages.find((m) => /now in the Remote settings/.test(m.text)),
      );
      assert.equal(env.ui.messages.filter((m) => m.level === 'warning').length, 1, 'the hint once');
      assert.deepEqual(await env.api.remoteSettings.check(), [], 'nothing misplaced once VS Code reads it');
    } finally {
      if (before === undefined) fs.rmSync(file, { force: true });
      else fs.writeFileSync(file, before);
      await cfg().update('local.modelsDirs', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  test('remote settings: "Open Remote Settings" opens the file VS Code reads machine settings from', async () => {
    const file = env.api.remoteSettings.userSettingsFile;
    const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
    try {
      env.ui.answerMessages((m) => (m.buttons.includes('Open Remote Settings') ? 'Open Remote Settings' : undefined));
      fs.writeFileSync(file, JSON.stringify({ 'backstop.server.wsPort': 0 }, null, 2));
      await env.api.remoteSettings.check();
      const editor = await waitFor('the Remote settings open', [vscode.window.onDidChangeActiveTextEditor], () =>
        vscode.window.activeTextEditor?.document.uri.path.endsWith('/Machine/settings.json')
          ? vscode.window.activeTextEditor
          : undefined,
      );
      assert.ok(editor);
    } finally {
      if (before === undefined) fs.rmSync(file, { force: true });
      else fs.writeFileSync(file, before);
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    }
  });

  test("Edit Chain shows each entry's health, and its title says what it is", async () => {
    env.fake.behave('deny', { kind: 'deny' });
    // One request each, so fake/ok has answered and fake/deny has failed (whatever ran before).
    await ok(env.api.request(methods.complete, { prompt: 'x', maxTokens: 4, chain: ['fake/ok'] }));
    await env.api.request(methods.complete, { prompt: 'x', maxTokens: 4, chain: ['fake/deny'] });
    await useChain(env, ['fake/ok', 'fake/deny', 'fake/never-called-c']);
    const run = vscode.commands.executeCommand('backstop.editChain');
    const qp = await env.ui.until('the chain editor', () => env.ui.quickPicks[0]);
    await waitFor('its entries', [qp.onDidChangeActive], () => qp.items.length > 0);
    const desc = (id: string): string => qp.items.find((i) => i.label === id)?.description ?? '';
    assert.equal(qp.title, 'Backstop: Edit Fallback Chain');
    assert.match(desc('fake/ok'), /^primary · answering · \d+% of \d+ calls ok$/);
    assert.match(desc('fake/deny'), /^fallback #1 · API key missing or rejected$/);
    assert.match(desc('fake/never-called-c'), /^fallback #2 · untested$/);
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    assert.equal(await run, undefined);
  });

  test('walkthrough: contributed with four steps, each completed by a context key the real action sets', async () => {
    const ext = vscode.extensions.getExtension('backstop.backstop');
    const walk = (
      ext?.packageJSON as {
        contributes: { walkthroughs: { id: string; steps: { id: string; completionEvents: string[] }[] }[] };
      }
    ).contributes.walkthroughs[0];
    assert.equal(walk?.id, 'gettingStarted');
    assert.deepEqual(
      walk.steps.map((st) => st.id),
      ['addProvider', 'chooseChain', 'failoverDrill', 'openDiagnostics'],
    );
    // Before: a chain with a fallback and a reachable provider are already there (the suite set them up).
    await useChain(env, ['fake/ok', 'local/tiny']);
    await waitFor('provider and chain steps', [env.api.onDidChangeStatus], () =>
      ['providerReady', 'chainReady'].every((k) => env.api.walkthroughSteps.includes(k)),
    );
    env.ui.answerMessages(() => undefined);
    const r = await vscode.commands.executeCommand<CompleteResult | undefined>('backstop.failoverDrill');
    assert.equal(r?.modelUsed, 'local/tiny');
    assert.ok(env.api.walkthroughSteps.includes('drillPassed'), env.api.walkthroughSteps.join(','));
    const keys = walk.steps.flatMap((st) => st.completionEvents);
    for (const step of env.api.walkthroughSteps)
      assert.ok(keys.includes(`onContext:backstop.walkthrough.${step}`), step);
    assert.ok(keys.includes('onCommand:backstop.showDiagnostics'));
    await vscode.commands.executeCommand('workbench.action.openWalkthrough', 'backstop.backstop#gettingStarted', false);
  });

  test('Show Attempts on a fallback opens the trace: each attempt, its failure, latency and why the next model', async () => {
    env.fake.behave('deny', { kind: 'deny' });
    await useChain(env, ['fake/deny', 'fake/ok']);
    await editorWith('b = ', { start: 4 });
    env.ui.answerMessages((m) => (m.buttons.includes('Show Attempts') ? 'Show Attempts' : undefined));
    const opened = newAttemptsDocument();
    const fallback = nextEvent('the fallback', env.api.onFallback, (f) => f.from === 'fake/deny');
    const r = await vscode.commands.executeCommand<CompleteResult | undefined>('backstop.complete', { maxTokens: 8 });
    await fallback;
    const text = (await opened).getText();
    const rows = text.split('\n').filter((l) => /^\| \d+ \|/.test(l));
    assert.equal(rows.length, r?.attempts.length, text);
    assert.match(
      rows[0] ?? '',
      /`fake\/deny` \| API key missing or rejected.*\| a key problem is not retried; next in chain order: fake\/ok \|$/,
    );
    assert.match(rows.at(-1) ?? '', /`fake\/ok` \| answered/);
    assertHumanTimes(text);
    // The palette command shows the same request again.
    assert.equal(await vscode.commands.executeCommand<string>('backstop.showAttempts'), (await opened).uri.toString());
  });
}
