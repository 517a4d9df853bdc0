// The shapes of the Backstop protocol as zod schemas: the one source of the TypeScript types
// (`protocol/types.ts` infers them), the daemon's validation and `docs/protocol.md`.
// Daemon-side only: the client and the webview import the inferred types, never this module.
import * as z from 'zod';
import {
  ATTEMPT_OUTCOMES,
  AVAILABILITIES,
  CAPABILITIES,
  CIRCUIT_STATES,
  FAILURE_KINDS,
  FALLBACK_OPTION_TYPES,
  HEALTH_LEVELS,
  LOG_LEVELS,
  MODEL_KINDS,
  PRIORITIES,
  PURPOSES,
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
/** Data URLs carry the image itself: large, but bounded by server.maxMessageBytes anyway. */
const MAX_IMAGE_URL_CHARS = 20 * 1024 * 1024;
const count = z.number().int().min(0);
const ms = z.number().min(0);

/** A piece of a user message: text, or an image by URL (`https:` or a `data:` URL with base64 bytes). */
export const ContentPart = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({
    type: z.literal('image'),
    url: z.string().min(1).max(MAX_IMAGE_URL_CHARS),
    detail: z.enum(['auto', 'low', 'high']).optional(),
  }),
]);

/** A call of a tool the model asked for; `arguments` is the JSON text the model wrote. */
export const ToolCall = z.object({
  id: z.string().min(1).max(200),
  name: z.string().min(1).max(128),
  arguments: z.string(),
});

/** One chat turn. Tool results answer an assistant's tool call by its id. */
export const ChatMessage = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: z.string() }),
  z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(ContentPart).min(1)]) }),
  z.object({ role: z.literal('assistant'), content: z.string(), toolCalls: z.array(ToolCall).min(1).optional() }),
  z.object({ role: z.literal('tool'), toolCallId: z.string().min(1).max(200), content: z.string() }),
]);

/** A function the model may call; `parameters` is a JSON Schema object. */
export const Tool = z.object({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a tool name is 1–64 letters, digits, "_", "." or "-"'),
  description: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).optional(),
  strict: z.boolean().optional(),
});

export const ToolChoice = z.union([z.enum(['auto', 'none', 'required']), z.object({ name: z.string().min(1) })]);

export const ResponseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    name: z.string().min(1).max(64),
    schema: z.record(z.string(), z.unknown()),
    strict: z.boolean().optional(),
  }),
]);

/** A streamed piece of a tool call: `index` says which call; id and name come first, then argument text. */
export const ToolCallDelta = z.object({
  index: z.number().int().min(0),
  id: z.string().optional(),
  name: z.string().optional(),
  arguments: z.string().optional(),
});

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
    tools: z.array(Tool).max(128).optional(),
    toolChoice: ToolChoice.optional(),
    parallelToolCalls: z.boolean().optional(),
    responseFormat: ResponseFormat.optional(),
    topP: z.number().min(0).max(1).optional(),
    seed: z.number().int().optional(),
    presencePenalty: z.number().min(-2).max(2).optional(),
    frequencyPenalty: z.number().min(-2).max(2).optional(),
    logitBias: z.record(z.string(), z.number().min(-100).max(100)).optional(),
    logprobs: z.boolean().optional(),
    topLogprobs: z.number().int().min(0).max(20).optional(),
    user: z.string().max(256).optional(),
    metadata: z.record(z.string(), z.string()).optional(),
    /**
     * What the request is for. Inline (ghost text) requests run on tight deadlines: their timeouts say
     * nothing about the model and never count against its health.
     */
    purpose: z.enum(PURPOSES).optional(),
    /**
     * The privacy guard: true keeps the request on this machine. Cloud models are skipped with the
     * reason "privacy: local only"; when no local model can answer, the request fails and says so.
     */
    localOnly: z.boolean().optional(),
    /**
     * The caller allows dropping the oldest turns of `messages` (never a system message or the last
     * user turn) when the conversation does not fit a model's context even with a smaller maxTokens;
     * the attempt trace says how many were dropped. Gateway: header `x-backstop-trim-prompt: true`.
     */
    trimPrompt: z.boolean().optional(),
    /**
     * The caller asked for a text completion (OpenAI's /v1/completions): OpenAI-compatible upstreams are
     * asked on their /completions endpoint first, and in chat form when they have none.
     */
    textCompletion: z.boolean().optional(),
    /** Fields of an OpenAI-style request Backstop does not know: passed to OpenAI-compatible upstreams unchanged. */
    extra: z.record(z.string(), z.unknown()).optional(),
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
  /** The tool calls the model asked for (finishReason "tool_calls"). */
  toolCalls: z.array(ToolCall).optional(),
  /** Token log probabilities as the upstream reported them (OpenAI's `logprobs` object), when asked for. */
  logprobs: z.unknown().optional(),
  /**
   * Request parameters the serving model's API has no way to honour (by their OpenAI names, e.g.
   * `seed` on Anthropic): it was asked without them. The gateway repeats them in `x-backstop-ignored-params`.
   */
  ignoredParams: z.array(z.string()).optional(),
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
  /** When the last failure happened: suggestions and plans say "ran out of memory 2 s ago". */
  lastFailureAt: isoTime.optional(),
  /** Share of successes over the circuit's recent calls (`recentCalls` of them), unlike all-time successRate. */
  recentSuccessRate: z.number().min(0).max(1).optional(),
  recentCalls: count.optional(),
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

/** One model's part in a request no model could serve. */
export const FailedModel = z.object({
  model: z.string(),
  failure: FailureKind.optional(),
  message: z.string().optional(),
});

/**
 * An entry of the daemon's event history (backstop/events): a request moved to another model
 * (`fallback`, with `from`, `to` and the reason), or no model in the chain could serve it (`failed`,
 * with each model tried and its reason).
 */
export const HistoryEvent = z.object({
  /** Unique within the history. */
  id: z.string(),
  at: isoTime,
  kind: z.enum(['fallback', 'failed']),
  requestId: z.string(),
  from: z.string().optional(),
  to: z.string().optional(),
  failure: FailureKind,
  message: z.string(),
  models: z.array(FailedModel).optional(),
});

export const HealthFactor = z.object({ name: z.string(), score: z.number(), weight: z.number(), detail: z.string() });

/** Tokens and dollars of one model in one period (backstop/usage). */
export const UsageRow = z.object({
  provider: z.string(),
  model: z.string(),
  requests: count,
  inputTokens: count,
  outputTokens: count,
  /** US dollars at the configured or list price (0 for local models and models without a price). */
  usd: z.number().min(0),
});

/** A budget (config `budgets`) and where it stands in the current period. */
export const BudgetState = z.object({
  provider: z.string(),
  period: z.enum(['day', 'month']),
  usd: z.number().optional(),
  tokens: z.number().optional(),
  spentUsd: z.number().min(0),
  spentTokens: count,
  /** The larger of the dollar and token shares used (1 = the budget is used up). */
  share: z.number().min(0),
  /** 80 % or more used: the client warns once per period. */
  warning: z.boolean(),
  /** Used up: the provider is skipped ("budget") until resetsAt. */
  exceeded: z.boolean(),
  resetsAt: isoTime,
});

export const UsageReport = z.object({
  /** The current UTC day ("2025-06-01") and its rows, most expensive first. */
  day: z.object({ key: z.string(), rows: z.array(UsageRow) }),
  month: z.object({ key: z.string(), rows: z.array(UsageRow) }),
  budgets: z.array(BudgetState),
  /** Dollars and tokens per UTC day over the last 31 days, oldest first (the spend chart). */
  history: z.array(z.object({ day: z.string(), usd: z.number().min(0), tokens: count })),
  /** The date of the built-in list prices. */
  pricesDate: z.string(),
});

export const Status = z.object({
  version: z.string(),
  uptimeMs: ms,
  healthScore: z.number().min(0).max(100),
  healthLevel: HealthLevel,
  /** The model that served the last request (null before any request). */
  activeModel: z.string().nullable(),
  /** When activeModel answered. */
  activeAt: isoTime.optional(),
  chain: z.array(z.string()),
  strategy: z.string(),
  exhausted: z.boolean(),
  exhaustedUntil: isoTime.optional(),
  queueLength: count,
  /** Every model known; ready = callable now; untested = ready but never sent a request; failing = last call failed. */
  models: z.object({ total: count, ready: count, untested: count.optional(), failing: count.optional() }),
  /** What the health score is made of (see backstop/health), so a tooltip can explain it. */
  factors: z.array(HealthFactor).optional(),
  /** Requests running right now. */
  inFlight: count.optional(),
  lastFallback: LastFallback.optional(),
  topRecommendation: z.string().optional(),
  /**
   * Each purpose's chain (resolved: the main chain when it has none of its own), latency budget, and
   * whether the budget holds over its recent requests (share within budget, p95 first-token time).
   */
  purposes: z
    .record(
      z.enum(PURPOSES),
      z.object({
        chain: z.array(z.string()),
        budgetMs: z.number().nullable(),
        requests: count,
        withinBudget: z.number().min(0).max(1).optional(),
        p95FirstTokenMs: ms.optional(),
      }),
    )
    .optional(),
  /** The spend budgets (config `budgets`) and where each stands; absent without budgets. */
  budgets: z.array(BudgetState).optional(),
  /**
   * Offline mode: cloud hosts that cannot be reached are skipped without a call until a probe finds
   * them again. `network`: the whole network is down ("offline — local models").
   */
  offline: z
    .object({
      network: z.boolean(),
      hosts: z.array(z.string()),
      since: isoTime,
      reason: z.string(),
      nextProbeAt: isoTime.optional(),
    })
    .optional(),
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
