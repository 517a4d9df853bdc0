// Shared: fetch the model list and let the user pick one. Degrades to the chain's ids when the
// daemon does not implement backstop/models yet.
import * as vscode from 'vscode';
import type { ModelInfo } from '../../protocol/types';
import type { Ctx } from '../ctx';
import { describeModel, sortModels } from '../modelItems';
import { describeFailure } from '../rpcErrors';

export interface ModelPick extends vscode.QuickPickItem {
  id: string;
}

export async function listModels(ctx: Ctx): Promise<{ models: ModelInfo[] | undefined; ids: string[] }> {
  const r = await ctx.fetchModels();
  if (r.ok) return { models: r.value, ids: r.value.map((m) => m.id) };
  if (r.failure.kind !== 'not_available')
    void vscode.window.showWarningMessage(`Backstop: could not list models. ${describeFailure(r.failure)}`);
  return { models: undefined, ids: [...(ctx.status?.chain ?? [])] };
}

export function modelPicks(models: ModelInfo[] | undefined, ids: string[], chain: readonly string[]): ModelPick[] {
  if (!models) return ids.map((id) => ({ id, label: id, description: 'model details not available yet' }));
  return sortModels(models, chain).map((m) => ({ id: m.id, ...describeModel(m, chain) }));
}

export async function pickModel(ctx: Ctx, title: string, exclude: readonly string[] = []): Promise<string | undefined> {
  const chain = ctx.status?.chain ?? [];
  const { models, ids } = await listModels(ctx);
  const picks = modelPicks(models, ids, chain).filter((p) => !exclude.includes(p.id));
  if (!picks.length) {
    void vscode.window
      .showInformationMessage(
        'Backstop: no models found. Configure providers in the backstop.providers setting or add GGUF folders in backstop.local.modelsDirs.',
        'Open Settings',
      )
      .then((pick) => {
        if (pick) void vscode.commands.executeCommand('workbench.action.openSettings', 'backstop');
      });
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(picks, {
    title,
    placeHolder: 'Type to filter models',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  return picked?.id;
}
