// Shapes of the Backstop protocol (contract: PROTOCOL.md; this file is the source of truth).
// String unions only (no enums) so the module stays type-strippable and browser-safe.

export type Priority = 'critical' | 'high' | 'normal' | 'low';
export const PRIORITIES: readonly Priority[] = ['critical', 'high', 'normal', 'low'];

export type Capability =
  | 'chat' | 'completion' | 'code' | 'fim' | 'vision' | 'tools' | 'long_context' | 'fast' | 'high_quality';

export type FailureKind =
  | 'rate_limited' | 'timeout' | 'network' | 'server_error' | 'auth' | 'bad_request'
  | 'context_overflow' | 'content_filter' | 'stream_interrupted' | 'model_missing' | 'model_load'
  | 'out_of_memory' | 'cancelled' | 'unknown';

export const FAILURE_KINDS: readonly FailureKind[] = [
  'rate_limited', 'timeout', 'network', 'server_error', 'auth', 'bad_request', 'context_overflow',
  'content_filter', 'stream_interrupted', 'model_missing', 'model_load', 'out_of_memory', 'cancelled', 'unknown',
];

export type Strategy = 'sequential' | 'fastest' | 'load_balanced';
export const STRATEGIES: readonly Strategy[] = ['sequential', 'fastest', 'load_balanced'];

export interface ChatMessage { role: 'system' | 'user' | 'assistant'; content: string }

export interface Requirements { capabilities?: Capability[]; minContext?: number; preferSpeed?: boolean; preferQuality?: boolean }

export interface CompleteParams {
  prompt?: string;
  messages?: ChatMessage[];
  /** Fill-in-the-middle: text after the cursor (used with `prompt` as the prefix when the model supports FIM). */
  suffix?: string;
  chain?: string[];
  strategy?: Strategy;
  maxTokens?: number;
  temperature?: number;
  stop?: string[];
  priority?: Priority;
  timeoutMs?: number;
  requirements?: Requirements;
  streamId?: string;
  /** Test/drill aid: these models fail at once with the given kind, without a provider call. */
  forceFail?: { models: string[]; kind?: FailureKind };
}

export type AttemptOutcome = 'success' | 'error' | 'timeout' | 'skipped' | 'cancelled';

export interface Attempt {
  model: string;
  outcome: AttemptOutcome;
  failure?: FailureKind;
  message?: string;
  latencyMs: number;
  retry: number;
  /** ms since the request started when this attempt began. */
  startedAtMs?: number;
  status?: number;
  /** Adjustments the planner applied before this attempt (autoSwitch). */
  adjustments?: Record<string, number | string>;
}

export interface Usage { promptTokens: number; completionTokens: number }

export interface CompleteResult {
  text: string;
  modelUsed: string;
  fallbackOccurred: boolean;
  attempts: Attempt[];
  totalLatencyMs: number;
  queuedMs: number;
  usage?: Usage;
  finishReason?: string;
  /** Set when the answer came from mock generation (only when the user enabled it). */
  mock?: boolean;
}

export type CircuitState = 'healthy' | 'degraded' | 'open' | 'half_open';

export interface ModelHealth {
  state: CircuitState;
  successCount: number;
  failureCount: number;
  consecutiveFailures: number;
  successRate: number;
  avgLatencyMs: number | null;
  p50LatencyMs?: number | null;
  p95LatencyMs?: number | null;
  cooldownUntil?: string;
  lastFailure?: FailureKind;
  lastFailureMessage?: string;
  needsKey?: boolean;
}

export type Availability = 'ready' | 'loading' | 'missing' | 'unreachable' | 'incompatible' | 'cooling_down';

export interface ModelFit { fits: boolean; gpuLayers: number; estimatedVramBytes: number; estimatedRamBytes: number; contextSize?: number }

export interface ModelInfo {
  id: string;
  provider: string;
  name: string;
  kind: 'local' | 'cloud';
  availability: Availability;
  /** Why the model is not ready (incompatible file, unreachable provider, …). */
  reason?: string;
  capabilities: Capability[];
  contextLength?: number;
  sizeBytes?: number;
  parameters?: string;
  quantization?: string;
  architecture?: string;
  path?: string;
  sourceUrl?: string;
  fit?: ModelFit;
  health: ModelHealth;
  benchmark?: BenchmarkResult;
}

export type HealthLevel = 'excellent' | 'good' | 'fair' | 'poor';

export interface LastFallback { requestId: string; from: string; to: string; failure: FailureKind; message: string; at: string }

export interface Status {
  version: string;
  uptimeMs: number;
  healthScore: number;
  healthLevel: HealthLevel;
  activeModel: string | null;
  chain: string[];
  strategy: string;
  exhausted: boolean;
  exhaustedUntil?: string;
  queueLength: number;
  models: { total: number; ready: number };
  /** Requests running right now. */
  inFlight?: number;
  lastFallback?: LastFallback;
  topRecommendation?: string;
}

export interface BenchmarkResult {
  model: string;
  ok: boolean;
  ttftMs?: number;
  tokensPerSecond?: number;
  promptTokensPerSecond?: number;
  totalMs?: number;
  peakRssBytes?: number;
  error?: string;
  at: string;
  repetitions?: number;
  ttftSdMs?: number;
  tokensPerSecondSd?: number;
  promptTokensPerSecondSd?: number;
}

export interface GpuInfo { vendor: string; model: string; vramTotalBytes?: number; vramFreeBytes?: number }

export interface SystemSnapshot {
  platform: string;
  cpu: { brand: string; cores: number; physicalCores?: number; loadPercent: number };
  memory: { totalBytes: number; availableBytes: number };
  gpus: GpuInfo[];
  at?: string;
}

export interface HealthFactor { name: string; score: number; weight: number; detail: string }

export interface HealthReport {
  score: number;
  level: HealthLevel;
  factors: HealthFactor[];
  recommendations: string[];
  perModel: Record<string, ModelHealth>;
}

export interface Stats {
  totalRequests: number;
  fallbackRequests: number;
  fallbackRate: number;
  modelsUsed: Record<string, number>;
  failedRequests?: number;
}

export interface Suggestion {
  model: string;
  score: number;
  reasons: string[];
  qualityDelta: number;
  available: boolean;
  estimatedWaitMs?: number;
}

export type FallbackOptionType =
  | 'alternative_model' | 'queue_and_wait' | 'download_and_retry' | 'reduce_requirements' | 'mock_generation' | 'hybrid';

export interface FallbackOption {
  type: FallbackOptionType;
  model?: string;
  confidence: number;
  estimatedWaitMs?: number;
  adjustments?: Record<string, number | string>;
  message: string;
}

export interface FallbackPlan { failure: FailureKind; recommended: FallbackOption; options: FallbackOption[] }

export interface WaitEstimate {
  totalMs: number;
  confidence: number;
  factors: { downloadMs: number; queueMs: number; processingMs: number; cooldownMs?: number };
  position?: number;
}

export interface QueueItem {
  id: string;
  model: string;
  priority: Priority;
  position: number;
  enqueuedAt: string;
  estimatedWaitMs: number;
}

export interface MonitorSample { at: string; healthScore: number; cpuLoadPercent: number; memAvailableBytes: number; vramFreeBytes?: number }

/** `data` of every JSON-RPC error the daemon returns. */
export interface ErrorData {
  kind: string;
  attempts?: Attempt[];
  retryAfterMs?: number;
  plan?: FallbackPlan;
  field?: string;
}
