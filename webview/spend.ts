// The spend chart of the diagnostics view (issue 19): dollars per UTC day over the kept days, and each
// budget's share used this period. Rendered from Snapshot.usage (backstop/usage); nothing without it.
import type { UsageReport } from '../protocol/types';
import { barChart } from './charts';
import { h } from './dom';

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
