// Every closed set of names in the protocol, written once. Schemas build `z.enum(...)` from these
// arrays and the types below come from them, so this file stays free of any runtime dependency:
// the thin client and the webview import it without pulling in the schema library.

export const PRIORITIES = ['critical', 'high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const CAPABILITIES = [
  'chat',
  'json',
  'completion',
  'code',
  'fim',
  'vision',
  'tools',
  'long_context',
  'fast',
  'high_quality',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

export const FAILURE_KINDS = [
  'rate_limited',
  'timeout',
  'network',
  'server_error',
  'auth',
  'bad_request',
  'context_overflow',
  'content_filter',
  'stream_interrupted',
  'model_missing',
  'model_load',
  'out_of_memory',
  'cancelled',
  /** The model cannot serve this request (lacks tools, vision, context, an endpoint): skipped, never its fault. */
  'unsupported',
  'unknown',
] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

export const STRATEGIES = ['sequential', 'fastest', 'load_balanced', 'cheapest'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const CHAT_ROLES = ['system', 'user', 'assistant', 'tool'] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

export const ATTEMPT_OUTCOMES = ['success', 'error', 'timeout', 'skipped', 'cancelled'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export const CIRCUIT_STATES = ['healthy', 'degraded', 'open', 'half_open'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];

export const AVAILABILITIES = ['ready', 'loading', 'missing', 'unreachable', 'incompatible', 'cooling_down'] as const;
export type Availability = (typeof AVAILABILITIES)[number];

export const MODEL_KINDS = ['local', 'cloud'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** `untested`: every chain model is reachable but none has been sent a request yet. */
export const HEALTH_LEVELS = ['excellent', 'good', 'fair', 'poor', 'untested'] as const;
export type HealthLevel = (typeof HEALTH_LEVELS)[number];

export const FALLBACK_OPTION_TYPES = [
  'alternative_model',
  'queue_and_wait',
  'download_and_retry',
  'reduce_requirements',
  'mock_generation',
  'hybrid',
] as const;
export type FallbackOptionType = (typeof FALLBACK_OPTION_TYPES)[number];

/** What a request is for: editor ghost text, the Complete command, chat (vscode.lm), an HTTP client. */
export const PURPOSES = ['inline', 'complete', 'chat', 'gateway'] as const;
export type Purpose = (typeof PURPOSES)[number];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const STREAM_FAILOVER_MODES = ['buffer', 'error'] as const;
export type StreamFailoverMode = (typeof STREAM_FAILOVER_MODES)[number];
