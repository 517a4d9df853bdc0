// `backstop usage`: tokens and spend per provider and model for today and this month (UTC), and each
// budget with how much of it is used. A table by default, the daemon's backstop/usage answer with --json.
import { newTable } from './table';
import type { Command } from 'commander';
import { methods } from '../../protocol/index';
import type { BudgetState, UsageReport, UsageRow } from '../../protocol/types';
import { EXIT_OK } from './exitCodes';
import { out, run, withCommon, type Common } from './run';

const usd = (x: number): string => `$${x < 0.01 && x > 0 ? x.toFixed(4) : x.toFixed(2)}`;

function rowsTable(title: string, rows: UsageRow[]): string {
  if (rows.length === 0) return `${title}: no answered request yet.`;
  const t = newTable({
    head: ['provider', 'model', 'requests', 'input tokens', 'output tokens', 'spend'],
    style: { head: [], border: [] },
  });
  for (const r of rows) t.push([r.provider, r.model, r.requests, r.inputTokens, r.outputTokens, usd(r.usd)]);
  const total = rows.reduce((n, r) => n + r.usd, 0);
  return `${title} (total ${usd(total)}):\n${t.toString()}`;
}

function budgetLine(b: BudgetState): string {
  const limit = [b.usd !== undefined ? usd(b.usd) : '', b.tokens !== undefined ? `${b.tokens} tokens` : '']
    .filter(Boolean)
    .join(' / ');
  const state = b.exceeded ? 'USED UP: skipped until the period resets' : b.warning ? 'over 80 %' : 'ok';
  return `${b.provider} per ${b.period}: ${limit} — spent ${usd(b.spentUsd)}, ${b.spentTokens} tokens (${Math.round(b.share * 100)} %, ${state}; resets ${b.resetsAt})`;
}

export function usageText(u: UsageReport): string {
  const parts = [rowsTable(`Today ${u.day.key} (UTC)`, u.day.rows), rowsTable(`Month ${u.month.key}`, u.month.rows)];
  parts.push(u.budgets.length ? `Budgets:\n${u.budgets.map(budgetLine).join('\n')}` : 'Budgets: none configured.');
  parts.push(`Prices: the config's \`prices\`, else list prices of ${u.pricesDate}; local models cost nothing.`);
  return parts.join('\n\n');
}

export function registerUsageCommand(program: Command): void {
  withCommon(
    program.command('usage').description('tokens and spend per provider and model today and this month, and budgets'),
  ).action((o: Common) =>
    run(o, async (c) => {
      const u = await c.request(methods.usage);
      out(o.json, u, () => usageText(u));
      return EXIT_OK;
    }),
  );
}
