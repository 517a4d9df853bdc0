// backstop.editChain, backstop.chooseStrategy and the switchPrimary QuickPick, in a real VS Code
// against the real daemon. The multi-step editor is driven through its real QuickPick.
import * as assert from 'node:assert/strict';
import { test } from 'mocha';
import * as vscode from 'vscode';
import { methods, type ChainResult } from '../../protocol';
import { cfg, fakeId, ok, useChain, type Env } from './env';
import { acceptItem } from './ui';
import { waitFor } from './waitFor';

const modelLabels = (qp: vscode.QuickPick<vscode.QuickPickItem>): string[] =>
  qp.items
    .filter((i) => i.kind !== vscode.QuickPickItemKind.Separator && !i.label.startsWith('$('))
    .map((i) => i.label);

export function registerChainTests(env: Env): void {
  test('backstop.editChain with a chain argument sets it in the daemon and in settings, and says so', async () => {
    await useChain(env, ['local/tiny', 'cloud/gpt-x']);
    const result = await vscode.commands.executeCommand<ChainResult | undefined>('backstop.editChain', [
      'cloud/gpt-x',
      fakeId('ok'),
    ]);
    assert.deepEqual(result?.chain, ['cloud/gpt-x', 'fake/ok']);
    assert.deepEqual((await ok(env.api.request(methods.status))).chain, ['cloud/gpt-x', 'fake/ok']);
    assert.deepEqual(cfg().get('chain'), ['cloud/gpt-x', 'fake/ok']);
    assert.ok(
      env.ui.messages.some((m) => m.text === 'Backstop: chain saved: cloud/gpt-x → fake/ok'),
      JSON.stringify(env.ui.messages),
    );
  });

  test('backstop.editChain interactively: add a model (step 2), reorder and remove with item buttons, save', async () => {
    await useChain(env, ['local/tiny', 'cloud/gpt-x']);
    // Step 2 lists the models the daemon knows, minus those already in the chain.
    env.ui.pick((items) => {
      const ids = items.map((i) => (i as vscode.QuickPickItem & { id?: string }).id);
      assert.ok(!ids.includes('local/tiny') && !ids.includes('cloud/gpt-x'), `already in the chain: ${ids.join(', ')}`);
      const item = items.find((i) => (i as { id?: string }).id === 'fake/ok');
      assert.ok(item, `fake/ok offered: ${ids.join(', ')}`);
      assert.match(item.description ?? '', /ready/, 'availability shown');
      return item;
    });
    const run = vscode.commands.executeCommand<ChainResult | undefined>('backstop.editChain');
    const step1 = await env.ui.until('step 1 shown', () => env.ui.quickPicks[0]);
    assert.deepEqual(modelLabels(step1), ['local/tiny', 'cloud/gpt-x']);
    await acceptItem(step1, (i) => i.label.includes('Add model'));
    const again = await env.ui.until('step 1 shown again', () => env.ui.quickPicks[1]);
    assert.deepEqual(modelLabels(again), ['local/tiny', 'cloud/gpt-x', 'fake/ok']);
    const find = (label: string): vscode.QuickPickItem => again.items.find((i) => i.label === label)!;
    env.ui.clickItemButton(again, find('fake/ok'), 'Move up');
    assert.deepEqual(modelLabels(again), ['local/tiny', 'fake/ok', 'cloud/gpt-x']);
    env.ui.clickItemButton(again, find('cloud/gpt-x'), 'Remove from the chain');
    env.ui.clickItemButton(again, find('local/tiny'), 'Move down');
    assert.deepEqual(modelLabels(again), ['fake/ok', 'local/tiny']);
    await acceptItem(again, (i) => i.label.includes('Save chain'));
    const result = await run;
    assert.deepEqual(result?.chain, ['fake/ok', 'local/tiny']);
    assert.deepEqual((await ok(env.api.request(methods.status))).chain, ['fake/ok', 'local/tiny']);
    assert.deepEqual(cfg().get('chain'), ['fake/ok', 'local/tiny']);
    env.ui.assertAllAnswered();
  });

  test('backstop.editChain closed with Escape changes nothing', async () => {
    await useChain(env, ['local/tiny', 'cloud/gpt-x']);
    const run = vscode.commands.executeCommand<ChainResult | undefined>('backstop.editChain');
    const qp = await env.ui.until('the chain editor shown', () => env.ui.quickPicks[0]);
    await waitFor('the chain editor visible', [qp.onDidChangeActive], () => qp.activeItems.length > 0);
    env.ui.clickItemButton(qp, qp.items[0]!, 'Remove from the chain');
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    assert.equal(await run, undefined);
    assert.deepEqual((await ok(env.api.request(methods.status))).chain, ['local/tiny', 'cloud/gpt-x']);
    assert.equal(env.ui.messages.length, 0, 'nothing announced');
  });

  test('backstop.chooseStrategy by argument and by QuickPick (invalid argument → QuickPick) keeps the chain', async () => {
    await useChain(env, ['local/tiny', 'cloud/gpt-x']);
    const byArg = await vscode.commands.executeCommand<ChainResult | undefined>('backstop.chooseStrategy', 'fastest');
    assert.deepEqual(byArg, { chain: ['local/tiny', 'cloud/gpt-x'], strategy: 'fastest' });
    await waitFor('status strategy fastest', [env.api.onDidChangeStatus], () => env.api.status?.strategy === 'fastest');
    assert.equal(cfg().get('strategy'), 'fastest');
    env.ui.pick((items) => {
      assert.deepEqual(
        items.map((i) => i.label),
        ['sequential', 'fastest', 'load_balanced', 'cheapest'],
      );
      assert.equal(items.find((i) => i.description === 'current')?.label, 'fastest');
      assert.ok(
        items.every((i) => (i.detail ?? '').length > 0),
        'each strategy is explained',
      );
      return items[2];
    });
    const picked = await vscode.commands.executeCommand<ChainResult | undefined>(
      'backstop.chooseStrategy',
      'not-a-strategy',
    );
    assert.equal(picked?.strategy, 'load_balanced');
    assert.equal((await ok(env.api.request(methods.getConfig))).strategy, 'load_balanced');
    assert.equal(cfg().get('strategy'), 'load_balanced');
    assert.deepEqual(picked?.chain, ['local/tiny', 'cloud/gpt-x']);
    env.ui.assertAllAnswered();
    await vscode.commands.executeCommand('backstop.chooseStrategy', 'sequential');
  });

  test('backstop.switchPrimary QuickPick lists models with availability and the pick becomes primary', async () => {
    await useChain(env, ['local/tiny', 'cloud/gpt-x']);
    env.ui.pick((items) => {
      const tiny = items.find((i) => (i as { id?: string }).id === 'local/tiny');
      assert.match(tiny?.description ?? '', /ready.*primary/, `local/tiny: ${tiny?.description}`);
      return items.find((i) => (i as { id?: string }).id === 'fake/ok');
    });
    const result = await vscode.commands.executeCommand<ChainResult | undefined>('backstop.switchPrimary');
    assert.deepEqual(result?.chain, ['fake/ok', 'local/tiny', 'cloud/gpt-x']);
    assert.ok(env.ui.messages.some((m) => m.text.includes('primary model is now fake/ok')));
    env.ui.assertAllAnswered();
  });
}
