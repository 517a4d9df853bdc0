// Spend and token budgets. Prices per model (config, else the list prices below), a ledger of tokens and
// dollars per provider and model for each UTC day and month (persisted through a Store), budgets per
// provider and period: at 80 % a warning, at 100 % the provider is skipped ("budget") until the period
// rolls over. Pure: the time comes in as milliseconds, the store is injected.
import type { Store } from './types';

export interface Price {
  /** US dollars per million input (prompt) tokens. */
  inputPerMTok: number;
  /** US dollars per million output (completion) tokens. */
  outputPerMTok: number;
}

/**
 * List prices of well-known cloud models, US dollars per million tokens, as published by OpenAI,
 * Anthropic and Google on 2025-06-01. Matched by the longest prefix of the model name (a dated or
 * "-latest" name takes its family's price); `prices` in the config overrides any of them.
 */
export const DEFAULT_PRICES_DATE = '2025-06-01';
export const DEFAULT_PRICES: Readonly<Record<string, Price>> = {
  'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6 },
  'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10 },
  'gpt-4.1-nano': { inputPerMTok: 0.1, outputPerMTok: 0.4 },
  'gpt-4.1-mini': { inputPerMTok: 0.4, outputPerMTok: 1.6 },
  'gpt-4.1': { inputPerMTok: 2, outputPerMTok: 8 },
  'o3-mini': { inputPerMTok: 1.1, outputPerMTok: 4.4 },
  'o4-mini': { inputPerMTok: 1.1, outputPerMTok: 4.4 },
  'claude-3-5-haiku': { inputPerMTok: 0.8, outputPerMTok: 4 },
  'claude-3-5-sonnet': { inputPerMTok: 3, outputPerMTok: 15 },
  'claude-3-7-sonnet': { inputPerMTok: 3, outputPerMTok: 15 },
  'claude-sonnet-4': { inputPerMTok: 3, outputPerMTok: 15 },
  'claude-opus-4': { inputPerMTok: 15, outputPerMTok: 75 },
  'gemini-1.5-flash': { inputPerMTok: 0.075, outputPerMTok: 0.3 },
  'gemini-1.5-pro': { inputPerMTok: 1.25, outputPerMTok: 5 },
  'gemini-2.0-flash': { inputPerMTok: 0.1, outputPerMTok: 0.4 },
  'gemini-2.5-flash': { inputPerMTok: 0.3, outputPerMTok: 2.5 },
  'gemini-2.5-pro': { inputPerMTok: 1.25, outputPerMTok: 10 },
};

/** A budget reaches this share: the user is warned once. */
export const BUDGET_WARNING_SHARE = 0.8;
/** Days and months of history the ledger keeps (the diagnostics chart). */
export const LEDGER_DAYS = 31;
export const LEDGER_MONTHS = 12;
export const SPEND_STORE_KEY = 'spend';

export type Period = 'day' | 'month';

export interface Budget {
  provider: string;
  period: Period;
  usd?: number | undefined;
  tokens?: number | undefined;
}

export interface UsageRow {
  provider: string;
  model: string;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  usd: number;
}

export interface BudgetState extends Budget {
  spentUsd: number;
  spentTokens: number;
  /** The larger of the dollar and token shares used, 0..∞. */
  share: number;
  warning: boolean;
  exceeded: boolean;
  /** When the period rolls over (ISO, UTC). */
  resetsAt: string;
}

/** The price of `model` (provider/name): the config's by id or name, else the list price; undefined: unknown. */
export function priceOf(
  modelId: string,
  configured: Readonly<Record<string, Price>>,
  local: boolean,
): Price | undefined {
  if (local) return { inputPerMTok: 0, outputPerMTok: 0 };
  const name = modelId.slice(modelId.indexOf('/') + 1);
  const own = configured[modelId] ?? configured[name];
  if (own) return own;
  let best: string | undefined;
  for (const prefix of Object.keys(DEFAULT_PRICES))
    if (name.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
  return best === undefined ? undefined : DEFAULT_PRICES[best];
}

export function costOf(price: Price, inputTokens: number, outputTokens: number): number {
  return (inputTokens * price.inputPerMTok + outputTokens * price.outputPerMTok) / 1_000_000;
}

/** A period's key, remembered with the span it covers: every answered request asks (issue 21). */
interface KeySpan {
  from: number;
  to: number;
  key: string;
}
let daySpan: KeySpan = { from: 0, to: 0, key: '' };
let monthSpan: KeySpan = { from: 0, to: 0, key: '' };

export const dayKey = (ms: number): string => {
  if (ms >= daySpan.from && ms < daySpan.to) return daySpan.key;
  const d = new Date(ms);
  const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  daySpan = { from, to: periodEnd('day', ms), key: d.toISOString().slice(0, 10) };
  return daySpan.key;
};
export const monthKey = (ms: number): string => {
  if (ms >= monthSpan.from && ms < monthSpan.to) return monthSpan.key;
  const d = new Date(ms);
  const from = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  monthSpan = { from, to: periodEnd('month', ms), key: d.toISOString().slice(0, 7) };
  return monthSpan.key;
};

/** The start of the next UTC day or month after `ms`. */
export function periodEnd(period: Period, ms: number): number {
  const d = new Date(ms);
  return period === 'day'
    ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
    : Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

type Rows = Record<string, UsageRow>;

/** The team's spend of a provider in the current period, when shared (undefined: this daemon alone). */
export type TeamSpend = (provider: string, period: Period) => { usd: number; tokens: number } | undefined;

interface LedgerData {
  version: 1;
  days: Record<string, Rows>;
  months: Record<string, Rows>;
}

export class SpendLedger {
  private data: LedgerData;

  constructor(private readonly store?: Store) {
    this.data = restore(store?.read<unknown>(SPEND_STORE_KEY));
  }

  /** One answered request: its tokens and what they cost (0 for local models, undefined price: 0 $). */
  record(provider: string, model: string, inputTokens: number, outputTokens: number, usd: number, ms: number): void {
    for (const [table, key, keep] of [
      [this.data.days, dayKey(ms), LEDGER_DAYS],
      [this.data.months, monthKey(ms), LEDGER_MONTHS],
    ] as const) {
      const rows = (table[key] ??= {});
      const row = (rows[model] ??= { provider, model, requests: 0, inputTokens: 0, outputTokens: 0, usd: 0 });
      row.requests++;
      row.inputTokens += inputTokens;
      row.outputTokens += outputTokens;
      row.usd += usd;
      prune(table, keep);
    }
    this.store?.write(SPEND_STORE_KEY, this.data);
  }

  /** The rows of the period that contains `ms`, most expensive first. */
  rows(period: Period, ms: number): UsageRow[] {
    const table = period === 'day' ? this.data.days : this.data.months;
    const key = period === 'day' ? dayKey(ms) : monthKey(ms);
    return Object.values(table[key] ?? {})
      .map((r) => ({ ...r }))
      .sort((a, b) => b.usd - a.usd || b.inputTokens + b.outputTokens - (a.inputTokens + a.outputTokens));
  }

  /** Dollars per day over the kept days, oldest first (the diagnostics chart). */
  history(): { day: string; usd: number; tokens: number }[] {
    return Object.keys(this.data.days)
      .sort()
      .map((day) => {
        const rows = Object.values(this.data.days[day] ?? {});
        return {
          day,
          usd: rows.reduce((n, r) => n + r.usd, 0),
          tokens: rows.reduce((n, r) => n + r.inputTokens + r.outputTokens, 0),
        };
      });
  }

  /**
   * Each budget with what is spent: this ledger's rows, or the team's total when `team` knows it (shared
   * counters on Redis) and it is larger — the team's counters only start when sharing does.
   */
  budgetStates(budgets: readonly Budget[], ms: number, team?: TeamSpend): BudgetState[] {
    return budgets.map((b) => {
      const rows = this.rows(b.period, ms).filter((r) => r.provider === b.provider);
      const shared = team?.(b.provider, b.period);
      const spentUsd = Math.max(
        rows.reduce((n, r) => n + r.usd, 0),
        shared?.usd ?? 0,
      );
      const spentTokens = Math.max(
        rows.reduce((n, r) => n + r.inputTokens + r.outputTokens, 0),
        shared?.tokens ?? 0,
      );
      const share = Math.max(
        b.usd === undefined ? 0 : b.usd === 0 ? Infinity : spentUsd / b.usd,
        b.tokens === undefined ? 0 : b.tokens === 0 ? Infinity : spentTokens / b.tokens,
      );
      return {
        ...b,
        spentUsd,
        spentTokens,
        share,
        warning: share >= BUDGET_WARNING_SHARE,
        exceeded: share >= 1,
        resetsAt: new Date(periodEnd(b.period, ms)).toISOString(),
      };
    });
  }

  /** Why `provider` may not be called now ("budget: …"), or undefined. */
  blocked(provider: string, budgets: readonly Budget[], ms: number, team?: TeamSpend): string | undefined {
    const over = this.budgetStates(
      budgets.filter((b) => b.provider === provider),
      ms,
      team,
    ).find((s) => s.exceeded);
    if (!over) return undefined;
    const spent =
      over.usd !== undefined && over.spentUsd >= over.usd
        ? `spent $${over.spentUsd.toFixed(2)} of its $${over.usd.toFixed(2)}`
        : `used ${over.spentTokens} of its ${over.tokens ?? 0} tokens`;
    return `budget: ${provider} ${spent} this ${over.period}; skipped until ${over.resetsAt} (budgets in the config)`;
  }
}

function prune(table: Record<string, Rows>, keep: number): void {
  const keys = Object.keys(table);
  if (keys.length <= keep) return;
  keys.sort();
  for (const k of keys.slice(0, Math.max(0, keys.length - keep))) delete table[k];
}

function restore(raw: unknown): LedgerData {
  const empty: LedgerData = { version: 1, days: {}, months: {} };
  if (typeof raw !== 'object' || raw === null) return empty;
  const r = raw as Partial<LedgerData>;
  return { version: 1, days: tables(r.days), months: tables(r.months) };
}

function tables(raw: unknown): Record<string, Rows> {
  const out: Record<string, Rows> = {};
  if (typeof raw !== 'object' || raw === null) return out;
  for (const [key, rows] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof rows !== 'object' || rows === null) continue;
    const clean: Rows = {};
    for (const [model, row] of Object.entries(rows as Record<string, unknown>)) {
      const x = row as Partial<UsageRow>;
      if (typeof x.provider !== 'string') continue;
      clean[model] = {
        provider: x.provider,
        model,
        requests: num(x.requests),
        inputTokens: num(x.inputTokens),
        outputTokens: num(x.outputTokens),
        usd: num(x.usd),
      };
    }
    out[key] = clean;
  }
  return out;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
}
