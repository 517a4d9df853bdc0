// The local-only privacy guard from the editor: backstop.privacy.localOnly and
// backstop.privacy.localOnlyFiles make Backstop: Complete, inline completions and chat through vscode.lm
// carry localOnly, so the chain [fake/ok (cloud), local/tiny] answers locally and the scripted cloud
// receives nothing; a file outside the globs still reaches the cloud (the control).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'mocha';
import * as vscode from 'vscode';
import type { DiagnosticsPanel } from '../../client/webviewPanel';
import { methods, type CompleteResult } from '../../protocol';
import type { Snapshot, ToWebview } from '../../protocol/webview';
import { cfg, editorWith, ok, useChain, type Env } from './env';
import { FAKE_TEXT } from './fakeCloud';
import { nextEvent, waitFor } from './waitFor';

const CHAIN = ['fake/ok', 'local/tiny'];

/** A real file on disk (globs match paths), opened in an editor with the cursor at its end. */
async function fileEditor(rel: string, text: string): Promise<vscode.TextEditor> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'backstop-privacy-')), rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  const editor = await vscode.window.showTextDocument(vscode.Uri.file(file));
  const end = editor.document.positionAt(text.length);
  editor.selection = new vscode.Selection(end, end);
  return editor;
}

const complete = () =>
  vscode.commands.executeCommand<CompleteResult | undefined>('backstop.complete', { maxTokens: 4 });

export function registerPrivacyTests(env: Env): void {
  test('privacy: backstop.privacy.localOnly keeps Backstop: Complete and vscode.lm chat off the cloud', async () => {
    await useChain(env, CHAIN);
    await cfg().update('privacy.localOnly', true, vscode.ConfigurationTarget.Workspace);
    try {
      const seen = env.fake.seen.length;
      await editorWith('const secret = ', { start: 15 });
      const r = await complete();
      assert.equal(r?.modelUsed, 'local/tiny', JSON.stringify(r?.attempts));
      assert.ok(r.attempts.some((a) => a.model === 'fake/ok' && a.message === 'privacy: local only'));
      const [chat] = await vscode.lm.selectChatModels({ vendor: 'backstop', id: 'backstop' });
      assert.ok(chat, 'the Backstop chat model is offered');
      const response = await chat.sendRequest([vscode.LanguageModelChatMessage.User('the secret is 42')], {
        modelOptions: { maxTokens: 4 },
      });
      for await (const part of response.stream) void part;
      assert.equal(env.fake.seen.length, seen, 'the cloud received nothing');
    } finally {
      await cfg().update('privacy.localOnly', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  test('privacy: a file matching backstop.privacy.localOnlyFiles stays local; another file reaches the cloud', async () => {
    await useChain(env, CHAIN);
    const seen = env.fake.seen.length;
    await fileEditor(path.join('secrets', 'keys.js'), 'const key = ');
    const guarded = await complete();
    assert.equal(guarded?.modelUsed, 'local/tiny', JSON.stringify(guarded?.attempts));
    assert.equal(env.fake.seen.length, seen, 'nothing from secrets/** reached the cloud');
    await fileEditor('plain.js', 'const x = ');
    const open = await complete();
    assert.equal(open?.modelUsed, 'fake/ok', 'outside the globs the chain runs as configured');
    assert.equal(env.fake.seen.length, seen + 1);
  });

  test('privacy: inline completions under the guard never reach the cloud', async () => {
    await useChain(env, CHAIN);
    await cfg().update('inlineCompletions.enabled', true, vscode.ConfigurationTarget.Workspace);
    await cfg().update('privacy.localOnly', true, vscode.ConfigurationTarget.Workspace);
    try {
      const seen = env.fake.seen.length;
      const editor = await editorWith('function add(a, b) {\n  return ', { start: 31 });
      const doc = editor.document;
      const context = {
        triggerKind: vscode.InlineCompletionTriggerKind.Invoke,
        selectedCompletionInfo: undefined,
      } as vscode.InlineCompletionContext;
      const items = await Promise.resolve(
        env.api.inlineProvider.provideInlineCompletionItems(
          doc,
          doc.positionAt(31),
          context,
          new vscode.CancellationTokenSource().token,
        ),
      );
      const list = Array.isArray(items) ? items : (items?.items ?? []);
      assert.equal(list.length, 1, 'the local model answered the inline request');
      assert.equal(env.fake.seen.length, seen, 'the cloud received nothing');
    } finally {
      await cfg().update('inlineCompletions.enabled', undefined, vscode.ConfigurationTarget.Workspace);
      await cfg().update('privacy.localOnly', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  test('privacy: the status item shows a lock while the guard applies to the active editor', async () => {
    const locked = () => env.api.statusBarText.startsWith('$(lock)');
    await fileEditor('open.js', 'const a = 1;');
    await waitFor('no lock on an ordinary file', [vscode.window.onDidChangeActiveTextEditor], () => !locked(), 5_000);
    await fileEditor(path.join('secrets', 'more.js'), 'const b = 2;');
    await waitFor('a lock on a file under secrets/', [vscode.window.onDidChangeActiveTextEditor], locked, 5_000);
    await fileEditor('open2.js', 'const c = 3;');
    await waitFor('the lock goes with the file', [vscode.window.onDidChangeActiveTextEditor], () => !locked(), 5_000);
  });

  test('purposes: backstop.chat.chain routes chat through its own chain, not the main one', async () => {
    env.fake.behave('deny', { kind: 'deny' });
    await useChain(env, ['fake/deny']);
    const applied = nextEvent('chat.chain applied', env.api.onConfigApplied, (c) =>
      JSON.stringify(c).includes('fake/ok'),
    );
    await cfg().update('chat.chain', ['fake/ok'], vscode.ConfigurationTarget.Workspace);
    await applied;
    try {
      const denied = env.fake.calls('deny').length;
      const [chat] = await vscode.lm.selectChatModels({ vendor: 'backstop', id: 'backstop' });
      assert.ok(chat, 'the Backstop chat model is offered');
      const response = await chat.sendRequest([vscode.LanguageModelChatMessage.User('hello')], {});
      let text = '';
      for await (const part of response.text) text += part;
      assert.equal(text, FAKE_TEXT);
      assert.equal(env.fake.calls('deny').length, denied, 'the main chain was not used for chat');
    } finally {
      await cfg().update('chat.chain', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  test('spend: a provider past its budget brings one warning and is skipped with reason "budget"', async () => {
    await useChain(env, CHAIN);
    await ok(
      env.api.request(methods.setConfig, {
        prices: { 'fake/ok': { inputPerMTok: 1000, outputPerMTok: 1000 } },
        budgets: [{ provider: 'fake', period: 'day', usd: 0.000001 }],
      }),
    );
    try {
      await fileEditor('spend.js', 'const x = ');
      const first = await complete();
      assert.equal(first?.modelUsed, 'fake/ok', 'within budget the chain runs as configured');
      const warning = await env.ui.until('the budget warning', () =>
        env.ui.messages.find((m) => m.level === 'warning' && m.text.startsWith('Backstop: fake has used')),
      );
      assert.match(warning.text, /daily budget; it is skipped until/);
      const second = await complete();
      assert.equal(second?.modelUsed, 'local/tiny');
      const skipped = second.attempts.find((a) => a.model === 'fake/ok');
      assert.match(skipped?.message ?? '', /^budget: fake spent/);
      assert.equal(
        env.ui.messages.filter((m) => m.text.startsWith('Backstop: fake has used')).length,
        1,
        'one warning per budget state and period',
      );
    } finally {
      await ok(env.api.request(methods.setConfig, { budgets: [] }));
    }
  });

  test('spend: the diagnostics view gets the usage for its spend chart and each purpose', async () => {
    // A fresh panel: its script sends "ready" once loaded, and the snapshot answers it.
    await vscode.window.tabGroups.close(
      vscode.window.tabGroups.all
        .flatMap((g) => g.tabs)
        .filter((t) => t.input instanceof vscode.TabInputWebview && t.label === 'Backstop Diagnostics'),
    );
    const panel = await vscode.commands.executeCommand<DiagnosticsPanel>('backstop.showDiagnostics');
    assert.ok(panel, 'backstop.showDiagnostics returns its panel');
    const posted = await nextEvent('a snapshot', panel.onDidPost, (m) => m.type === 'snapshot');
    const snapshot = (posted as Extract<ToWebview, { type: 'snapshot' }>).snapshot as Snapshot;
    const row = snapshot.usage?.day.rows.find((r) => r.model === 'fake/ok');
    assert.ok(row && row.usd > 0 && row.requests >= 1, JSON.stringify(snapshot.usage));
    assert.ok((snapshot.usage?.history.length ?? 0) >= 1, 'dollars per day for the chart');
    assert.equal(snapshot.status?.purposes?.inline.budgetMs, 400, 'each purpose and its budget for the view');
    assert.ok((snapshot.status?.purposes?.complete.requests ?? 0) >= 1, 'Backstop: Complete ran in this suite');
  });

  test('offline: a cloud host that refuses connections is skipped and named in the status tooltip', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const before = cfg().inspect('providers')?.globalValue;
    const list = Array.isArray(before) ? before : [];
    const gone = { id: 'gone', type: 'openai-compatible', baseUrl: `http://127.0.0.1:${port}/v1`, models: ['m'] };
    const applied = nextEvent('the refusing provider accepted', env.api.onConfigApplied, (c) =>
      JSON.stringify(c).includes(`127.0.0.1:${port}`),
    );
    await cfg().update('providers', [...list, gone], vscode.ConfigurationTarget.Global);
    await applied;
    try {
      await useChain(env, ['gone/m', 'local/tiny']);
      await fileEditor('offline.js', 'let y = ');
      const first = await complete();
      assert.equal(first?.modelUsed, 'local/tiny');
      await waitFor('the offline host in the tooltip', [env.api.onDidChangeStatus], () =>
        env.api.statusBarTooltip.includes(`Offline hosts: \`http://127.0.0.1:${port}\``),
      );
      const second = await complete();
      const skipped = second?.attempts.find((a) => a.model === 'gone/m');
      assert.equal(skipped?.outcome, 'skipped', 'from the second request on, no call');
      assert.match(skipped?.message ?? '', /^offline: connection refused/);
    } finally {
      await cfg().update('providers', before, vscode.ConfigurationTarget.Global);
    }
  });
}
