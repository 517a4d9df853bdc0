// Spend budgets (config `budgets`): one warning notification when a provider has used 80 % of a budget,
// and one when it is used up and skipped, once per provider, period and reset. The daemon decides the
// thresholds (Status.budgets); this only tells the user.
import * as vscode from 'vscode';
import type { BudgetState, Status } from '../protocol/types';

/** The text of a budget's notification, or undefined while it is below the warning share. */
export function budgetMessage(b: BudgetState): string | undefined {
  if (!b.warning) return undefined;
  const limit = b.usd !== undefined ? `$${b.usd.toFixed(2)}` : `${b.tokens ?? 0} tokens`;
  const used = `${Math.round(b.share * 100)} % of its ${limit} ${b.period === 'day' ? 'daily' : 'monthly'} budget`;
  return b.exceeded
    ? `Backstop: ${b.provider} has used ${used}; it is skipped until ${new Date(b.resetsAt).toLocaleString()}.`
    : `Backstop: ${b.provider} has used ${used}; at 100 % it is skipped until the period resets.`;
}

export function watchBudgets(onStatus: vscode.Event<Status>): vscode.Disposable {
  const told = new Set<string>();
  return onStatus((s) => {
    for (const b of s.budgets ?? []) {
      const text = budgetMessage(b);
      const key = `${b.provider}|${b.period}|${b.resetsAt}|${b.exceeded ? 'exceeded' : 'warning'}`;
      if (text === undefined || told.has(key)) continue;
      told.add(key);
      void vscode.window.showWarningMessage(text);
    }
  });
}
