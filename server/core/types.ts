// Interfaces through which side effects enter the pure core. Wired in server/app/ (the composition root) only.
import type { Abortable } from './cancel';
import type {
  ChatMessage,
  FailureKind,
  ResponseFormat,
  Tool,
  ToolCall,
  ToolCallDelta,
  ToolChoice,
  Usage,
} from '../../protocol/types';

/** Time and timers. The core never calls Date.now or setTimeout itself. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Resolve after `ms` on `clock`; reject with the signal's reason if aborted first. */
export function sleep(clock: Clock, ms: number, signal?: Abortable): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clock.clearTimeout(h);
      reject(signal?.reason);
    };
    const h = clock.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** One request as a provider sees it: the model name WITHOUT the provider prefix. */
export interface GenerateRequest {
  model: string;
  prompt?: string;
  messages?: ChatMessage[];
  /** Fill-in-the-middle suffix (providers that cannot do FIM append nothing and treat prompt as plain). */
  suffix?: string;
  maxTokens?: number;
  temperature?: number;
  stop?: string[];
  /** Planner adjustments (autoSwitch): a smaller context, fewer GPU layers. */
  contextSize?: number;
  gpuLayers?: number;
  tools?: Tool[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  responseFormat?: ResponseFormat;
  topP?: number;
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  logitBias?: Record<string, number>;
  logprobs?: boolean;
  topLogprobs?: number;
  user?: string;
  metadata?: Record<string, string>;
  /** Unknown OpenAI-style fields, passed unchanged to OpenAI-compatible upstreams. */
  extra?: Record<string, unknown>;
  /** false: the caller wants the answer in one piece; ask the upstream for a plain response. */
  stream?: boolean;
  /** The caller asked for a text completion: a server's /completions endpoint first, if it has one. */
  textCompletion?: boolean;
}

/** The request fields that go from the caller to the provider unchanged (the engine adds the rest). */
export const PASS_THROUGH_FIELDS = [
  'prompt',
  'messages',
  'suffix',
  'temperature',
  'stop',
  'tools',
  'toolChoice',
  'parallelToolCalls',
  'responseFormat',
  'topP',
  'seed',
  'presencePenalty',
  'frequencyPenalty',
  'logitBias',
  'logprobs',
  'topLogprobs',
  'user',
  'metadata',
  'extra',
  'textCompletion',
] as const satisfies readonly (keyof GenerateRequest)[];
export type PassThroughField = (typeof PASS_THROUGH_FIELDS)[number];

/** The fields of `req` a provider cannot carry, by their OpenAI wire names (`presencePenalty` → `presence_penalty`). */
export function ignoredParams(req: GenerateRequest, ignores: readonly PassThroughField[] | undefined): string[] {
  if (!ignores?.length) return [];
  return ignores.filter((k) => req[k] !== undefined).map((k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
}

export interface GenerateOptions {
  signal: AbortSignal;
  /** Called for every text delta as it arrives. A provider calls it only with non-empty text. */
  onDelta?: (delta: string) => void;
  /** Called for every piece of a tool call as it arrives (id and name first, then argument text). */
  onToolCallDelta?: (delta: ToolCallDelta) => void;
}

export interface GenerateResult {
  text: string;
  usage: Usage;
  /** 'stop' | 'length' | 'tool_calls' | provider-specific; a stream without one is a failure, never a result. */
  finishReason: string;
  /** The tool calls the model asked for, complete. */
  toolCalls?: ToolCall[];
  /** The upstream's log probabilities, as it sent them (OpenAI format), when asked for. */
  logprobs?: unknown;
  /** Request parameters the serving API has no way to honour, by their OpenAI names (set by the engine). */
  ignoredParams?: string[];
}

/** A failure classified once, at the provider boundary. */
export class ProviderError extends Error {
  readonly kind: FailureKind;
  readonly status?: number;
  readonly retryAfterMs?: number;
  constructor(
    kind: FailureKind,
    message: string,
    opts: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ProviderError';
    this.kind = kind;
    if (opts.status !== undefined) this.status = opts.status;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}

export function isProviderError(e: unknown): e is ProviderError {
  return (
    e instanceof ProviderError ||
    (typeof e === 'object' &&
      e !== null &&
      (e as { name?: unknown }).name === 'ProviderError' &&
      typeof (e as { kind?: unknown }).kind === 'string')
  );
}

/** A model a provider reports (discovery). */
export interface ProviderModel {
  name: string;
  contextLength?: number;
  capabilities?: import('../../protocol/types').Capability[];
  sizeBytes?: number;
  parameters?: string;
  quantization?: string;
}

export interface Provider {
  readonly id: string;
  /** The wire format's type name ("local", "openai-compatible", …): the engine never branches on it. */
  readonly type: string;
  readonly kind: 'local' | 'cloud';
  /** Request fields this wire format cannot carry: sent without them, and named in the result. */
  readonly ignores?: readonly PassThroughField[];
  generate(req: GenerateRequest, opts: GenerateOptions): Promise<GenerateResult>;
  /** The provider's model list; rejects with a ProviderError (auth, network) when it cannot tell. */
  listModels?(signal: AbortSignal): Promise<ProviderModel[]>;
  /** Exact token counts with the model's own tokenizer (local GGUFs); absent: callers estimate. */
  countTokens?(model: string, texts: readonly string[], signal: AbortSignal): Promise<number[]>;
  /** Resident memory of the process that runs this provider's models (local providers), for benchmarks. */
  memoryBytes?(): number | undefined;
  dispose?(): Promise<void>;
}

/** Key/value persistence with atomic writes (server/store implements it on disk). */
export interface Store {
  read<T>(key: string): T | undefined;
  write(key: string, value: unknown): void;
}

export interface Logger {
  /** Whether a message at `level` goes anywhere (skip building costly messages when not); absent: yes. */
  enabled?(level: 'debug' | 'info' | 'warn' | 'error'): boolean;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const nullLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
