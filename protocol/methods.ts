// Every Backstop method, declared once. Client, server, CLI and tests import these constants;
// no method-name string appears anywhere else.
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import type { Config, ConfigInput } from './config';
import type {
  BenchmarkResult, CompleteParams, CompleteResult, FailureKind, FallbackPlan, HealthReport, ModelInfo,
  MonitorSample, Priority, QueueItem, Requirements, Stats, Status, Strategy, Suggestion, SystemSnapshot, WaitEstimate,
} from './types';

// ---- requests (client → daemon) ----

/** Client → daemon, any time: the daemon's summary (health score, chain, exhaustion, queue). */
export const status = new RequestType0<Status, void>('backstop/status');

export interface ModelsParams { refresh?: boolean }
/** Client → daemon: every known model, local and cloud, with availability, fit, health and benchmark. */
export const models = new RequestType<ModelsParams, { models: ModelInfo[] }, void>('backstop/models');

export interface DiscoverResult { models: ModelInfo[]; added: string[]; removed: string[]; durationMs: number }
/** Client → daemon: rescan model folders and providers now. */
export const discover = new RequestType0<DiscoverResult, void>('backstop/discover');

/** Client → daemon: run one completion through the chain. Cancel with `$/cancelRequest`. */
export const complete = new RequestType<CompleteParams, CompleteResult, void>('backstop/complete');

export interface SetChainParams { chain: string[]; strategy?: Strategy }
export interface ChainResult { chain: string[]; strategy: Strategy }
/** Client → daemon: replace the fallback chain (and optionally the strategy). */
export const setChain = new RequestType<SetChainParams, ChainResult, void>('backstop/setChain');

export interface SetPrimaryParams { model: string }
/** Client → daemon: move a model to the front of the chain (added if absent). */
export const setPrimary = new RequestType<SetPrimaryParams, ChainResult, void>('backstop/setPrimary');

export interface BenchmarkParams { models?: string[]; maxTokens?: number; prompt?: string; repetitions?: number; promptTokens?: number }
/** Client → daemon: benchmark models; progress arrives as `backstop/benchmarkProgress`. Cancellable. */
export const benchmark = new RequestType<BenchmarkParams, { results: BenchmarkResult[] }, void>('backstop/benchmark');

/** Client → daemon: the cached machine snapshot (CPU, RAM, GPUs). */
export const system = new RequestType0<SystemSnapshot, void>('backstop/system');

/** Client → daemon: health score with factors, recommendations and per-model health. */
export const health = new RequestType0<HealthReport, void>('backstop/health');

/** Client → daemon: request counters since the state dir was created. */
export const stats = new RequestType0<Stats, void>('backstop/stats');

export interface SuggestParams { model: string; requirements?: Requirements }
/** Client → daemon: ranked alternatives to a model. */
export const suggest = new RequestType<SuggestParams, { suggestions: Suggestion[] }, void>('backstop/suggest');

export interface PlanParams { model: string; failure: { kind: FailureKind; message?: string; retryAfterMs?: number }; requirements?: Requirements }
/** Client → daemon: what to do when `model` fails with `failure.kind`. */
export const plan = new RequestType<PlanParams, FallbackPlan, void>('backstop/plan');

export interface EstimateWaitParams { model: string; priority?: Priority }
/** Client → daemon: how long a new request for `model` would wait. */
export const estimateWait = new RequestType<EstimateWaitParams, WaitEstimate, void>('backstop/estimateWait');

/** Client → daemon: the waiting requests. */
export const queue = new RequestType0<{ items: QueueItem[] }, void>('backstop/queue');

export interface QueueCancelParams { id: string }
/** Client → daemon: remove a waiting request (it fails with `cancelled`). */
export const queueCancel = new RequestType<QueueCancelParams, { cancelled: boolean }, void>('backstop/queue/cancel');

/** Client → daemon: the effective configuration. */
export const getConfig = new RequestType0<Config, void>('backstop/getConfig');

/** Client → daemon: merge a partial configuration, validate it and apply it without a restart. */
export const setConfig = new RequestType<ConfigInput, Config, void>('backstop/setConfig');

export interface SetSecretParams { providerId: string; apiKey: string | null }
/** Client → daemon: an API key held in memory only (`null` clears it). */
export const setSecret = new RequestType<SetSecretParams, { ok: true }, void>('backstop/setSecret');

export type MonitorParams = { action: 'start'; durationS: number; intervalMs?: number } | { action: 'stop' };
export interface MonitorResult { samples: MonitorSample[]; running?: boolean }
/** Client → daemon: start or stop a monitoring session (health, CPU, memory, VRAM samples). */
export const monitor = new RequestType<MonitorParams, MonitorResult, void>('backstop/monitor');

export interface DownloadParams { model: string }
export interface DownloadResult { model: string; path: string; bytes: number; sha256: string; resumed: boolean; durationMs: number }
/** Client → daemon: fetch a missing local model from its configured source (resumable, checksum verified). Cancellable. */
export const download = new RequestType<DownloadParams, DownloadResult, void>('backstop/download');

// ---- notifications (daemon → client) ----

/** Daemon → client: sent whenever any field of Status changes (health, chain, exhaustion, queue, in-flight). */
export const statusChanged = new NotificationType<Status>('backstop/statusChanged');

/** Daemon → client: the model list changed (file added/removed, provider reachable again, benchmark done). */
export const modelsChanged = new NotificationType<{ models: ModelInfo[] }>('backstop/modelsChanged');

export interface FallbackEvent { requestId: string; from: string; to: string; failure: FailureKind; message: string }
/** Daemon → client: a request moved from one model to another. */
export const fallback = new NotificationType<FallbackEvent>('backstop/fallback');

/** Daemon → client: the queue changed. */
export const queueChanged = new NotificationType<{ items: QueueItem[] }>('backstop/queueChanged');

export interface BenchmarkProgress { model: string; done: number; total: number; message?: string }
/** Daemon → client: one benchmark step finished. */
export const benchmarkProgress = new NotificationType<BenchmarkProgress>('backstop/benchmarkProgress');

export interface StreamDelta { streamId: string; delta: string; model: string; reset?: true }
/** Daemon → the requesting client only: a delta of a `backstop/complete` that carried `streamId`. */
export const stream = new NotificationType<StreamDelta>('backstop/stream');

export interface LogMessage { level: 'trace' | 'debug' | 'info' | 'warn' | 'error'; message: string; at: string }
/** Daemon → client: a daemon log line (for the client's output channel). */
export const log = new NotificationType<LogMessage>('backstop/log');

export interface DownloadProgress { model: string; receivedBytes: number; totalBytes?: number }
/** Daemon → client: a model download moved forward. */
export const downloadProgress = new NotificationType<DownloadProgress>('backstop/downloadProgress');

/** Every request constant, for transports that dispatch by name and for docs/tests. */
export const ALL_REQUESTS = [
  status, models, discover, complete, setChain, setPrimary, benchmark, system, health, stats, suggest, plan,
  estimateWait, queue, queueCancel, getConfig, setConfig, setSecret, monitor, download,
] as const;

export const ALL_NOTIFICATIONS = [statusChanged, modelsChanged, fallback, queueChanged, benchmarkProgress, stream, log, downloadProgress] as const;

/** LSP's cancel notification, honoured on every transport. */
export const CANCEL_REQUEST_METHOD = '$/cancelRequest';
