import * as vscode from 'vscode';
import { methods, STRATEGIES, type ChainResult, type Strategy } from '../../protocol';
import type { Ctx } from '../ctx';
import { persistChain } from './switchPrimary';

const STRATEGY_DETAIL: Record<Strategy, string> = {
  sequential: 'Try the chain in order; fall back only when a model fails.',
  fastest: 'Prefer the model with the best measured latency among the healthy ones.',
  load_balanced: 'Spread requests over healthy models by their free capacity.',
};

/** backstop.chooseStrategy [strategy] */
export const chooseStrategy = (ctx: Ctx) => async (arg?: unknown): Promise<ChainResult | undefined> => {
  const current = ctx.status?.strategy;
  const strategy = isStrategy(arg) ? arg : (await vscode.window.showQuickPick(
    STRATEGIES.map((s) => ({ label: s, description: s === current ? 'current' : '', detail: STRATEGY_DETAIL[s], s })),
    { title: 'Backstop: Choose Strategy' },
  ))?.s;
  if (!strategy) return undefined;
  const chain = ctx.status?.chain ?? [];
  const result = await ctx.callOrShow(methods.setChain, { chain, strategy });
  if (result) await persistChain(ctx, result);
  return result;
};

function isStrategy(v: unknown): v is Strategy {
  return typeof v === 'string' && (STRATEGIES as readonly string[]).includes(v);
}
