// Messages between the diagnostics webview and the extension, named by direction. Both sides import
// this file; both check what arrives with the runtime guards below (a webview is untrusted input).
// Browser-safe: type-only imports from the protocol.
import type { BenchmarkProgress, BenchmarkResult, FallbackEvent, HealthReport, ModelInfo, MonitorSample, Stats, Status, SystemSnapshot } from '../protocol/types';

/** The settings the webview edits (a subset of backstop.*). */
export interface SettingsValues { timeoutMs: number; maxRetries: number; autoSwitch: boolean; monitorVram: boolean }

export const SETTINGS_LIMITS = { timeoutMs: { min: 5000, max: 120_000 }, maxRetries: { min: 0, max: 10 } } as const;
export const MONITOR_DURATION_LIMITS_S = { min: 10, max: 300 } as const;

export type Section = 'status' | 'health' | 'system' | 'models' | 'stats' | 'benchmark' | 'monitor' | 'chain' | 'settings';

export interface EventEntry { /** Dedupes repeats (a fallback's requestId). */ id?: string; at: string; level: 'info' | 'warn' | 'error'; kind: 'fallback' | 'status' | 'log' | 'benchmark' | 'queue'; text: string }

export interface Snapshot {
  status?: Status;
  health?: HealthReport;
  system?: SystemSnapshot;
  models?: ModelInfo[];
  stats?: Stats;
  settings: SettingsValues;
  /** Sections the daemon cannot serve yet, with the reason shown in their place. */
  unavailable: Partial<Record<Section, string>>;
}

export type ToWebview =
  | { type: 'snapshot'; snapshot: Snapshot }
  | { type: 'status'; status: Status }
  | { type: 'models'; models: ModelInfo[] }
  | { type: 'event'; event: EventEntry }
  | { type: 'fallback'; event: FallbackEvent }
  | { type: 'benchmarkProgress'; progress: BenchmarkProgress }
  | { type: 'benchmarkResults'; results: BenchmarkResult[] }
  | { type: 'monitor'; samples: MonitorSample[]; running: boolean }
  | { type: 'unavailable'; section: Section; message: string }
  | { type: 'busy'; section: Section; busy: boolean }
  /** After saveSettings/resetSettings: which settings were written (none when nothing changed). */
  | { type: 'settingsSaved'; changed: (keyof SettingsValues)[]; reset: boolean };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'refresh' }
  | { type: 'setPrimary'; model: string }
  | { type: 'benchmark'; models?: string[] }
  | { type: 'cancelBenchmark' }
  | { type: 'setChain'; chain: string[] }
  | { type: 'saveSettings'; settings: SettingsValues }
  | { type: 'resetSettings' }
  | { type: 'monitorStart'; durationS: number }
  | { type: 'monitorStop' }
  | { type: 'showLogs' };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length < 1000;
const isStrArray = (v: unknown): v is string[] => Array.isArray(v) && v.length <= 256 && v.every(isStr);
const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

export function isSettingsValues(v: unknown): v is SettingsValues {
  return isObj(v)
    && isInt(v.timeoutMs, SETTINGS_LIMITS.timeoutMs.min, SETTINGS_LIMITS.timeoutMs.max)
    && isInt(v.maxRetries, SETTINGS_LIMITS.maxRetries.min, SETTINGS_LIMITS.maxRetries.max)
    && typeof v.autoSwitch === 'boolean' && typeof v.monitorVram === 'boolean';
}

/** The extension's guard: anything else from the webview is dropped. */
export function isFromWebview(v: unknown): v is FromWebview {
  if (!isObj(v) || typeof v.type !== 'string') return false;
  switch (v.type) {
    case 'ready': case 'refresh': case 'resetSettings': case 'monitorStop': case 'showLogs': case 'cancelBenchmark': return true;
    case 'setPrimary': return isStr(v.model);
    case 'benchmark': return v.models === undefined || isStrArray(v.models);
    case 'setChain': return isStrArray(v.chain);
    case 'saveSettings': return isSettingsValues(v.settings);
    case 'monitorStart': return isInt(v.durationS, MONITOR_DURATION_LIMITS_S.min, MONITOR_DURATION_LIMITS_S.max);
    default: return false;
  }
}

const TO_WEBVIEW_TYPES: ReadonlySet<string> = new Set<ToWebview['type']>([
  'snapshot', 'status', 'models', 'event', 'fallback', 'benchmarkProgress', 'benchmarkResults', 'monitor', 'unavailable', 'busy',
  'settingsSaved',
]);

/** The webview's guard: the envelope is checked; payloads come from our own extension. */
export function isToWebview(v: unknown): v is ToWebview {
  return isObj(v) && typeof v.type === 'string' && TO_WEBVIEW_TYPES.has(v.type);
}
