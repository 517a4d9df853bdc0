import * as vscode from 'vscode';
import * as methods from '../../protocol/methods';
import type { ChainResult } from '../../protocol/types';
import type { Ctx } from '../ctx';
import { pickModel } from './pickModel';

/** backstop.switchPrimary [modelId]: move a model to the front of the chain and keep it in settings. */
export const switchPrimary =
  (ctx: Ctx) =>
  async (modelId?: unknown): Promise<ChainResult | undefined> => {
    const model = typeof modelId === 'string' ? modelId : await pickModel(ctx, 'Backstop: Switch Primary Model');
    if (!model) return undefined;
    const result = await ctx.callOrShow(methods.setPrimary, { model });
    if (!result) return undefined;
    await persistChain(ctx, result);
    void vscode.window.showInformationMessage(
      `Backstop: primary model is now ${model}. Chain: ${result.chain.join(' → ')}`,
    );
    return result;
  };

/** Keep settings the source of truth, so the chain survives a restart of the daemon or the window. */
export async function persistChain(ctx: Ctx, result: ChainResult): Promise<void> {
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  if (!same(ctx.settings.get('chain'), result.chain)) await ctx.settings.update('chain', result.chain);
  if (!same(ctx.settings.get('strategy'), result.strategy)) await ctx.settings.update('strategy', result.strategy);
}
