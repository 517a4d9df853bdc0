// backstop.editChain [chain]: reorder, add and remove models in a QuickPick that stays open
// (item buttons move/remove; "Add model…" is a second step), then save with backstop/setChain.
import * as vscode from 'vscode';
import * as methods from '../../protocol/methods';
import type { ChainResult, ModelInfo } from '../../protocol/types';
import type { Ctx } from '../ctx';
import { chainEntryHealth } from '../modelItems';
import { pickModel } from './pickModel';
import { persistChain } from './switchPrimary';

const UP: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('arrow-up'), tooltip: 'Move up' };
const DOWN: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('arrow-down'), tooltip: 'Move down' };
const REMOVE: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('trash'), tooltip: 'Remove from the chain' };

type Item = vscode.QuickPickItem & { action: 'model' | 'add' | 'save' | 'cancel'; index?: number };

export const editChain =
  (ctx: Ctx) =>
  async (arg?: unknown): Promise<ChainResult | undefined> => {
    let chain: string[] | undefined =
      Array.isArray(arg) && arg.every((x) => typeof x === 'string') ? [...arg] : undefined;
    // Before the first status the daemon's chain is unknown: the settings hold what it starts with.
    if (!chain) chain = await editInteractively(ctx, [...(ctx.status?.chain ?? ctx.settings.chain())]);
    if (!chain) return undefined;
    if (!ctx.running) {
      await ctx.settings.update('chain', chain);
      void vscode.window.showInformationMessage(
        `Backstop: chain saved in settings (the daemon is not running; it starts with it): ${chain.join(' → ') || '(empty)'}`,
      );
      return { chain, strategy: ctx.settings.strategy() };
    }
    const result = await ctx.callOrShow(methods.setChain, { chain });
    if (result) {
      await persistChain(ctx, result);
      void vscode.window.showInformationMessage(`Backstop: chain saved: ${result.chain.join(' → ') || '(empty)'}`);
    }
    return result;
  };

/** Returns the edited chain, or undefined when the user cancels. */
async function editInteractively(ctx: Ctx, chain: string[]): Promise<string[] | undefined> {
  for (;;) {
    const models = await ctx.fetchModels();
    const known = new Map((models.ok ? models.value : []).map((m) => [m.id, m]));
    const step = await showChain(chain, known);
    if (step === undefined || step.action === 'cancel') return undefined;
    if (step.action === 'save') return chain;
    if (step.action === 'add') {
      const model = await pickModel(ctx, 'Backstop: Add a Model to the Chain', chain);
      if (model) chain = [...chain, model];
    }
  }
}

function showChain(chain: string[], known: ReadonlyMap<string, ModelInfo>): Promise<Item | undefined> {
  return new Promise((resolve) => {
    const qp = vscode.window.createQuickPick<Item>();
    qp.title = 'Backstop: Edit Fallback Chain';
    qp.placeholder = 'Use the buttons to reorder or remove; pick "Add model…" or "Save chain"';
    const render = (): void => {
      qp.items = [
        ...chain.map((id, index): Item => {
          const health = chainEntryHealth(known.get(id));
          return {
            label: id,
            iconPath: new vscode.ThemeIcon(health.icon),
            description: `${index === 0 ? 'primary' : `fallback #${index}`} · ${health.text}`,
            ...(health.detail ? { detail: health.detail } : {}),
            action: 'model',
            index,
            buttons: [...(index > 0 ? [UP] : []), ...(index < chain.length - 1 ? [DOWN] : []), REMOVE],
          };
        }),
        { label: '', kind: vscode.QuickPickItemKind.Separator, action: 'model' },
        { label: '$(add) Add model…', action: 'add' },
        { label: '$(check) Save chain', description: chain.length ? chain.join(' → ') : 'empty chain', action: 'save' },
        { label: '$(close) Cancel', action: 'cancel' },
      ];
    };
    render();
    let done = false;
    const finish = (item: Item | undefined): void => {
      if (done) return;
      done = true;
      resolve(item);
      qp.dispose();
    };
    qp.onDidTriggerItemButton((e) => {
      const i = e.item.index;
      if (i === undefined) return;
      if (e.button === UP && i > 0) [chain[i - 1], chain[i]] = [chain[i]!, chain[i - 1]!];
      else if (e.button === DOWN && i < chain.length - 1) [chain[i + 1], chain[i]] = [chain[i]!, chain[i + 1]!];
      else if (e.button === REMOVE) chain.splice(i, 1);
      render();
    });
    qp.onDidAccept(() => {
      const item = qp.selectedItems[0];
      if (item && item.action !== 'model') finish(item);
    });
    qp.onDidHide(() => finish(undefined));
    qp.show();
  });
}
