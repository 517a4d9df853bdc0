// The persisted form of per-model health, and a defensive reader: a state file from an older
// version, hand-edited or half-written must degrade to "no history", never crash the daemon.
import { FAILURE_KINDS, type FailureKind } from '../../protocol/types';
import type { BreakerState, CircuitSnapshot } from './circuit';

export interface PersistedModel {
  circuit: CircuitSnapshot;
  successCount: number;
  failureCount: number;
  lastFailure?: FailureKind;
  lastFailureMessage?: string;
  lastFailureAt?: number;
  needsKey: boolean;
  latencyEwma?: number;
  latencies: number[];
  ttfts: number[];
}

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half_open'];

/** Parse what the store returned under the health key; unknown or broken entries are dropped. */
export function restoreHealth(stored: unknown): Record<string, PersistedModel> {
  const out: Record<string, PersistedModel> = {};
  // A store that keeps written values in memory may hand back the live view HealthRegistry wrote.
  const raw = isObject(stored) && typeof stored.toJSON === 'function' ? (stored.toJSON as () => unknown)() : stored;
  if (!isObject(raw) || raw.version !== 1 || !isObject(raw.models)) return out;
  for (const [model, v] of Object.entries(raw.models)) {
    const m = restoreModel(v);
    if (m) out[model] = m;
  }
  return out;
}

function restoreModel(v: unknown): PersistedModel | undefined {
  if (!isObject(v) || !isObject(v.circuit)) return undefined;
  const c = v.circuit;
  const state = BREAKER_STATES.find((s) => s === c.state);
  if (!state) return undefined;
  const circuit: CircuitSnapshot = {
    state,
    consecutiveFailures: count(c.consecutiveFailures),
    window: Array.isArray(c.window) ? c.window.filter((x): x is boolean => typeof x === 'boolean') : [],
    opens: count(c.opens),
    rateLimitStreak: count(c.rateLimitStreak),
  };
  if (isNum(c.openUntil)) circuit.openUntil = c.openUntil;
  if (isNum(c.coolingUntil)) circuit.coolingUntil = c.coolingUntil;
  const m: PersistedModel = {
    circuit,
    successCount: count(v.successCount),
    failureCount: count(v.failureCount),
    needsKey: v.needsKey === true,
    latencies: numbers(v.latencies),
    ttfts: numbers(v.ttfts),
  };
  const lastFailure = FAILURE_KINDS.find((k) => k === v.lastFailure);
  if (lastFailure) m.lastFailure = lastFailure;
  if (typeof v.lastFailureMessage === 'string') m.lastFailureMessage = v.lastFailureMessage;
  if (isNum(v.lastFailureAt)) m.lastFailureAt = v.lastFailureAt;
  if (isNum(v.latencyEwma)) m.latencyEwma = v.latencyEwma;
  return m;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function count(v: unknown): number {
  return isNum(v) && v >= 0 ? Math.floor(v) : 0;
}

function numbers(v: unknown): number[] {
  return Array.isArray(v) ? v.filter((x): x is number => isNum(x) && x >= 0) : [];
}
