// The issue-19 blocks of the diagnostics view: the spend chart (dollars per UTC day over the kept days,
// each budget's share used this period, from Snapshot.usage) and each purpose's chain and whether its
// latency budget holds (from Status.purposes). Nothing without their data.
import type { Status, UsageReport } from '../protocol/types';
import { barChart } from './charts';
import { h } from './dom';
import { humanDuration } from '../protocol/humanTime';

/** Days shown in the chart (the daemon keeps 31). */
const CHART_DAYS = 14;

const dollars = (v: number): string => `$${v < 0.01 && v > 0 ? v.toFixed(4) : v.toFixed(2)}`;

export function spendBlock(usage: UsageReport | undefined): HTMLElement | null {
  if (!usage) return null;
  const days = usage.history.slice(-CHART_DAYS);
  const total = usage.month.rows.reduce((n, r) => n + r.usd, 0);
  return h(
    'div',
    { id: 'spend' },
    h('h3', {}, 'Spend'),
    h(
      'p',
      { class: 'muted small' },
      `This month (${usage.month.key}, UTC): ${dollars(total)}. Prices from the config, else list prices of ${usage.pricesDate}.`,
    ),
    days.length
      ? barChart(
          days.map((d) => ({ label: d.day, value: d.usd })),
          dollars,
          'Spend per day (US dollars)',
        )
      : h('p', { class: 'muted' }, 'No answered request yet.'),
    usage.budgets.length
      ? barChart(
          usage.budgets.map((b) => ({ label: `${b.provider} per ${b.period}`, value: Math.round(b.share * 100) })),
          (v) => `${v} %`,
          'Budget used this period (100 % = skipped until it resets)',
          'bar-b',
        )
      : null,
  );
}

/** Each purpose: its chain, its budget, the share of recent requests within it and the p95 first token. */
export function purposesBlock(status: Status | undefined): HTMLElement | null {
  const purposes = Object.entries(status?.purposes ?? {});
  if (purposes.length === 0) return null;
  const recent = (p: (typeof purposes)[number][1]): string => {
    if (p.requests === 0) return 'no requests yet';
    const parts = [`${p.requests} request${p.requests === 1 ? '' : 's'}`];
    if (p.withinBudget !== undefined) parts.push(`${Math.round(p.withinBudget * 100)} % within budget`);
    if (p.p95FirstTokenMs !== undefined) parts.push(`p95 first token ${humanDuration(p.p95FirstTokenMs)}`);
    return parts.join(' · ');
  };
  // Four columns that fit 600 px: the chain wraps between its models, the figures share one cell.
  const row = ([name, p]: (typeof purposes)[number]): HTMLElement =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, name),
      h('td', {}, p.chain.join(' → ') || 'the main chain'),
      h('td', { class: 'nowrap' }, p.budgetMs === null ? 'none' : humanDuration(p.budgetMs)),
      h('td', {}, recent(p)),
    );
  return h(
    'div',
    { id: 'purposes' },
    h('h3', {}, 'Purposes'),
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'data', id: 'purposes-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Purpose', 'Chain', 'Budget', 'Recent'].map((t) => h('th', {}, t)),
          ),
        ),
        h('tbody', {}, purposes.map(row)),
      ),
    ),
  );
}
