import * as vscode from 'vscode';
import * as methods from '../../protocol/methods';
import { STRATEGIES } from '../../protocol/enums';
import type { ChainResult, Strategy } from '../../protocol/types';
import type { Ctx } from '../ctx';
import { persistChain } from './switchPrimary';

const STRATEGY_DETAIL: Record<Strategy, string> = {
  sequential: 'Try the chain in order; fall back only when a model fails.',
  fastest: 'Prefer the model with the best measured latency among the healthy ones.',
  load_balanced: 'Spread requests over healthy models by their free capacity.',
  cheapest: 'Healthy models by expected cost of the request (prices per model), ties by latency.',
};

/** backstop.chooseStrategy [strategy] */
export const chooseStrategy =
  (ctx: Ctx) =>
  async (arg?: unknown): Promise<ChainResult | undefined> => {
    const current = ctx.status?.strategy;
    const strategy = isStrategy(arg)
      ? arg
      : (
          await vscode.window.showQuickPick(
            STRATEGIES.map((s) => ({
              label: s,
              description: s === current ? 'current' : '',
              detail: STRATEGY_DETAIL[s],
              s,
            })),
            { title: 'Backstop: Choose Strategy' },
          )
        )?.s;
    if (!strategy) return undefined;
    if (!ctx.status) {
      // Without a status we do not know the daemon's chain, and setChain with [] would empty it: the
      // setting carries the strategy (the daemon gets it with setConfig now, or at its next start).
      await ctx.settings.update('strategy', strategy);
      vscode.window.setStatusBarMessage(`Backstop: strategy ${strategy} saved in settings`, 5_000);
      return { chain: ctx.settings.chain(), strategy };
    }
    const result = await ctx.callOrShow(methods.setChain, { chain: ctx.status.chain, strategy });
    if (result) await persistChain(ctx, result);
    return result;
  };

function isStrategy(v: unknown): v is Strategy {
  return typeof v === 'string' && (STRATEGIES as readonly string[]).includes(v);
}
