// The shapes of the Backstop protocol as zod schemas: the one source of the TypeScript types
// (`protocol/types.ts` infers them), the daemon's validation and `docs/protocol.md`.
// Daemon-side only: the client and the webview import the inferred types, never this module.
import { z } from 'zod';
import {
  ATTEMPT_OUTCOMES,
  AVAILABILITIES,
  CAPABILITIES,
  CHAT_ROLES,
  CIRCUIT_STATES,
  FAILURE_KINDS,
  FALLBACK_OPTION_TYPES,
  HEALTH_LEVELS,
  LOG_LEVELS,
  MODEL_KINDS,
  PRIORITIES,
  STRATEGIES,
} from './enums';
import { modelIdProblem, namedChainOf } from './modelId';

export const Priority = z.enum(PRIORITIES);
export const Capability = z.enum(CAPABILITIES);
export const FailureKind = z.enum(FAILURE_KINDS);
export const Strategy = z.enum(STRATEGIES);
export const LogLevel = z.enum(LOG_LEVELS);

/** "<providerId>/<modelName>", checked by `protocol/modelId.ts`. */
export const ModelId = z.string().superRefine((id, ctx) => {
  const problem = modelIdProblem(id);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A chain entry: a model id, or "chain:<name>" for a chain named in the configuration. */
export const ChainEntry = z.string().superRefine((entry, ctx) => {
  const named = namedChainOf(entry);
  if (named !== undefined) {
    if (!named) ctx.addIssue({ code: 'custom', message: 'a named chain is "chain:<name>" (the name is empty)' });
    return;
  }
  const problem = modelIdProblem(entry);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const isoTime = z.string();
const count = z.number().int().min(0);
const ms = z.number().min(0);

export const ChatMessage = z.object({ role: z.enum(CHAT_ROLES), content: z.string() });

export const Requirements = z.object({
  capabilities: z.array(Capability).optional(),
  minContext: z.number().int().positive().optional(),
  preferSpeed: z.boolean().optional(),
  preferQuality: z.boolean().optional(),
});

export const CompleteParams = z
  .object({
    prompt: z.string().optional(),
    messages: z.array(ChatMessage).min(1).optional(),
    /** Fill-in-the-middle: text after the cursor (with `prompt` as the prefix when the model supports FIM). */
    suffix: z.string().optional(),
    chain: z.array(ChainEntry).max(64).optional(),
    strategy: Strategy.optional(),
    maxTokens: z.number().int().min(1).max(131_072).optional(),
    temperature: z.number().min(0).max(2).optional(),
    stop: z.array(z.string()).max(16).optional(),
    priority: Priority.optional(),
    timeoutMs: z.number().int().min(100).max(3_600_000).optional(),
    requirements: Requirements.optional(),
    streamId: z.string().min(1).max(200).optional(),
    /** Test/drill aid: these models fail at once with the given kind, without a provider call. */
    forceFail: z.object({ models: z.array(z.string()), kind: FailureKind.optional() }).optional(),
  })
  .refine((p) => (p.prompt === undefined) !== (p.messages === undefined), {
    message: 'give exactly one of prompt or messages',
    path: ['prompt'],
  });

export const Attempt = z.object({
  model: z.string(),
  outcome: z.enum(ATTEMPT_OUTCOMES),
  failure: FailureKind.optional(),
  message: z.string().optional(),
  latencyMs: ms,
  retry: count,
  /** ms since the request started when this attempt began. */
  startedAtMs: ms.optional(),
  status: z.number().int().optional(),
  /** Adjustments the planner applied before this attempt (autoSwitch). */
  adjustments: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
});

export const Usage = z.object({ promptTokens: count, completionTokens: count });

export const CompleteResult = z.object({
  text: z.string(),
  modelUsed: z.string(),
  fallbackOccurred: z.boolean(),
  attempts: z.array(Attempt),
  totalLatencyMs: ms,
  queuedMs: ms,
  usage: Usage.optional(),
  finishReason: z.string().optional(),
  /** Set when the answer came from mock generation (only when the user enabled it). */
  mock: z.boolean().optional(),
});

export const CircuitState = z.enum(CIRCUIT_STATES);

export const ModelHealth = z.object({
  state: CircuitState,
  successCount: count,
  failureCount: count,
  consecutiveFailures: count,
  successRate: z.number().min(0).max(1),
  avgLatencyMs: z.number().nullable(),
  p50LatencyMs: z.number().nullable().optional(),
  p95LatencyMs: z.number().nullable().optional(),
  cooldownUntil: isoTime.optional(),
  lastFailure: FailureKind.optional(),
  lastFailureMessage: z.string().optional(),
  needsKey: z.boolean().optional(),
});

export const ModelFit = z.object({
  fits: z.boolean(),
  gpuLayers: z.number().int(),
  estimatedVramBytes: z.number(),
  estimatedRamBytes: z.number(),
  contextSize: z.number().int().optional(),
});

export const BenchmarkResult = z.object({
  model: z.string(),
  ok: z.boolean(),
  ttftMs: z.number().optional(),
  tokensPerSecond: z.number().optional(),
  promptTokensPerSecond: z.number().optional(),
  totalMs: z.number().optional(),
  peakRssBytes: z.number().optional(),
  error: z.string().optional(),
  at: isoTime,
  repetitions: z.number().int().optional(),
  ttftSdMs: z.number().optional(),
  tokensPerSecondSd: z.number().optional(),
  promptTokensPerSecondSd: z.number().optional(),
});

export const ModelInfo = z.object({
  id: z.string(),
  provider: z.string(),
  name: z.string(),
  kind: z.enum(MODEL_KINDS),
  availability: z.enum(AVAILABILITIES),
  /** Why the model is not ready (incompatible file, unreachable provider, …). */
  reason: z.string().optional(),
  capabilities: z.array(Capability),
  contextLength: z.number().int().optional(),
  sizeBytes: z.number().optional(),
  parameters: z.string().optional(),
  quantization: z.string().optional(),
  architecture: z.string().optional(),
  path: z.string().optional(),
  sourceUrl: z.string().optional(),
  fit: ModelFit.optional(),
  health: ModelHealth,
  benchmark: BenchmarkResult.optional(),
});

export const HealthLevel = z.enum(HEALTH_LEVELS);

export const FallbackEvent = z.object({
  requestId: z.string(),
  from: z.string(),
  to: z.string(),
  failure: FailureKind,
  message: z.string(),
});

export const LastFallback = FallbackEvent.extend({ at: isoTime });

export const Status = z.object({
  version: z.string(),
  uptimeMs: ms,
  healthScore: z.number().min(0).max(100),
  healthLevel: HealthLevel,
  activeModel: z.string().nullable(),
  chain: z.array(z.string()),
  strategy: z.string(),
  exhausted: z.boolean(),
  exhaustedUntil: isoTime.optional(),
  queueLength: count,
  models: z.object({ total: count, ready: count }),
  /** Requests running right now. */
  inFlight: count.optional(),
  lastFallback: LastFallback.optional(),
  topRecommendation: z.string().optional(),
});

export const GpuInfo = z.object({
  vendor: z.string(),
  model: z.string(),
  vramTotalBytes: z.number().optional(),
  vramFreeBytes: z.number().optional(),
});

export const SystemSnapshot = z.object({
  platform: z.string(),
  cpu: z.object({ brand: z.string(), cores: count, physicalCores: count.optional(), loadPercent: z.number() }),
  memory: z.object({ totalBytes: z.number(), availableBytes: z.number() }),
  gpus: z.array(GpuInfo),
  at: isoTime.optional(),
});

export const HealthFactor = z.object({ name: z.string(), score: z.number(), weight: z.number(), detail: z.string() });

export const HealthReport = z.object({
  score: z.number(),
  level: HealthLevel,
  factors: z.array(HealthFactor),
  recommendations: z.array(z.string()),
  perModel: z.record(z.string(), ModelHealth),
});

export const Stats = z.object({
  totalRequests: count,
  fallbackRequests: count,
  fallbackRate: z.number().min(0).max(1),
  modelsUsed: z.record(z.string(), count),
  failedRequests: count.optional(),
});

export const Suggestion = z.object({
  model: z.string(),
  score: z.number(),
  reasons: z.array(z.string()),
  qualityDelta: z.number(),
  available: z.boolean(),
  estimatedWaitMs: z.number().optional(),
});

export const FallbackOption = z.object({
  type: z.enum(FALLBACK_OPTION_TYPES),
  model: z.string().optional(),
  confidence: z.number(),
  estimatedWaitMs: z.number().optional(),
  adjustments: z.record(z.string(), z.union([z.number(), z.string()])).optional(),
  message: z.string(),
});

export const FallbackPlan = z.object({
  failure: FailureKind,
  recommended: FallbackOption,
  options: z.array(FallbackOption),
});

export const WaitEstimate = z.object({
  totalMs: z.number(),
  confidence: z.number(),
  factors: z.object({
    downloadMs: z.number(),
    queueMs: z.number(),
    processingMs: z.number(),
    cooldownMs: z.number().optional(),
  }),
  position: z.number().int().optional(),
});

export const QueueItem = z.object({
  id: z.string(),
  model: z.string(),
  priority: Priority,
  position: z.number().int(),
  enqueuedAt: isoTime,
  estimatedWaitMs: z.number(),
});

export const MonitorSample = z.object({
  at: isoTime,
  healthScore: z.number(),
  cpuLoadPercent: z.number(),
  memAvailableBytes: z.number(),
  vramFreeBytes: z.number().optional(),
});

/** `data` of every JSON-RPC error the daemon returns. */
export const ErrorData = z.object({
  kind: z.string(),
  attempts: z.array(Attempt).optional(),
  retryAfterMs: z.number().optional(),
  plan: FallbackPlan.optional(),
  field: z.string().optional(),
});
