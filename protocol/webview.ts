// Messages between the diagnostics webview and the extension, named by direction, declared once.
// What the webview sends is untrusted input: the extension checks it against `FromWebview` (zod/mini,
// ~20 KB, the small build of the same schema library; the full one stays out of the client bundle).
// What the extension sends comes from our own code: the webview checks the envelope only.
import * as z from 'zod/mini';
import type {
  BenchmarkProgress,
  BenchmarkResult,
  FallbackEvent,
  HealthReport,
  HistoryEvent,
  ModelInfo,
  MonitorSample,
  Stats,
  UsageReport,
  Status,
  SystemSnapshot,
} from './types';

/** Limits of the settings the webview edits; test/unit/webviewProtocol.test.ts holds them to the config schema. */
export const SETTINGS_LIMITS = { timeoutMs: { min: 5000, max: 120_000 }, maxRetries: { min: 0, max: 10 } } as const;
export const MONITOR_DURATION_LIMITS_S = { min: 10, max: 300 } as const;

const MAX_ID_LENGTH = 1000;
const MAX_LIST = 256;
const id = z.string().check(z.minLength(1), z.maxLength(MAX_ID_LENGTH - 1));
const int = (min: number, max: number) => z.number().check(z.int(), z.minimum(min), z.maximum(max));

/** The settings the webview edits (a subset of backstop.*). */
export const SettingsValues = z.object({
  timeoutMs: int(SETTINGS_LIMITS.timeoutMs.min, SETTINGS_LIMITS.timeoutMs.max),
  maxRetries: int(SETTINGS_LIMITS.maxRetries.min, SETTINGS_LIMITS.maxRetries.max),
  autoSwitch: z.boolean(),
  monitorVram: z.boolean(),
});
export type SettingsValues = z.infer<typeof SettingsValues>;

const bare = <T extends string>(type: T) => z.object({ type: z.literal(type) });

/** Webview → extension. */
export const FromWebview = z.discriminatedUnion('type', [
  bare('ready'),
  bare('refresh'),
  z.object({ type: z.literal('setPrimary'), model: id }),
  z.object({ type: z.literal('benchmark'), models: z.optional(z.array(id).check(z.maxLength(MAX_LIST))) }),
  bare('cancelBenchmark'),
  z.object({ type: z.literal('setChain'), chain: z.array(id).check(z.maxLength(MAX_LIST)) }),
  z.object({ type: z.literal('saveSettings'), settings: SettingsValues }),
  bare('resetSettings'),
  z.object({
    type: z.literal('monitorStart'),
    durationS: int(MONITOR_DURATION_LIMITS_S.min, MONITOR_DURATION_LIMITS_S.max),
  }),
  bare('monitorStop'),
  bare('showLogs'),
]);
export type FromWebview = z.infer<typeof FromWebview>;

/** The extension's guard: anything else from the webview is dropped. */
export function parseFromWebview(v: unknown): FromWebview | undefined {
  const r = FromWebview.safeParse(v);
  return r.success ? r.data : undefined;
}

export function isFromWebview(v: unknown): v is FromWebview {
  return parseFromWebview(v) !== undefined;
}

export type Section =
  'status' | 'health' | 'system' | 'models' | 'stats' | 'benchmark' | 'monitor' | 'chain' | 'settings';

export interface EventEntry {
  /** Dedupes repeats (a fallback's requestId). */
  id?: string;
  at: string;
  level: 'info' | 'warn' | 'error';
  kind: 'fallback' | 'status' | 'log' | 'benchmark' | 'queue';
  text: string;
}

export interface Snapshot {
  status?: Status;
  health?: HealthReport;
  system?: SystemSnapshot;
  models?: ModelInfo[];
  stats?: Stats;
  /** Tokens and spend per model, budgets, dollars per day (backstop/usage): the spend chart. */
  usage?: UsageReport;
  /** The daemon's event history (fallbacks and failed requests), newest first. */
  history?: HistoryEvent[];
  /**
   * Models the user configured: in the chain, named in a provider's `models`, or found in a provider's
   * own `modelsDirs`. The view lists these first and folds the other discovered models away.
   */
  configured?: string[];
  settings: SettingsValues;
  /** Sections the daemon cannot serve yet, with the reason shown in their place. */
  unavailable: Partial<Record<Section, string>>;
}

/** Extension → webview. */
export type ToWebview =
  | { type: 'snapshot'; snapshot: Snapshot }
  | { type: 'status'; status: Status }
  | { type: 'models'; models: ModelInfo[] }
  | { type: 'event'; event: EventEntry }
  | { type: 'fallback'; event: FallbackEvent }
  | { type: 'benchmarkProgress'; progress: BenchmarkProgress }
  | { type: 'benchmarkResults'; results: BenchmarkResult[] }
  | { type: 'monitor'; samples: MonitorSample[]; running: boolean }
  /** The daemon's history and counters, re-read after requests finish. */
  | { type: 'history'; events: HistoryEvent[]; stats?: Stats }
  | { type: 'unavailable'; section: Section; message: string }
  | { type: 'busy'; section: Section; busy: boolean }
  /** After saveSettings/resetSettings: which settings were written (none when nothing changed). */
  | { type: 'settingsSaved'; changed: (keyof SettingsValues)[]; reset: boolean };

/** Every ToWebview type, checked complete by the compiler. */
const TO_WEBVIEW_TYPES: ReadonlySet<string> = new Set(
  Object.keys({
    snapshot: true,
    status: true,
    models: true,
    event: true,
    fallback: true,
    benchmarkProgress: true,
    benchmarkResults: true,
    monitor: true,
    history: true,
    unavailable: true,
    busy: true,
    settingsSaved: true,
  } satisfies Record<ToWebview['type'], true>),
);

/** The webview's guard: the envelope is checked; payloads come from our own extension. */
export function isToWebview(v: unknown): v is ToWebview {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    TO_WEBVIEW_TYPES.has(String((v as { type?: unknown }).type))
  );
}
