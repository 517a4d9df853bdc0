// The engine's contract with the daemon: what it wires in (deps, config, events) and what one
// request carries. Types only, kept out of engine.ts so that requestRun.ts and lane.ts can use them
// without importing the engine that imports them.
import type { Abortable } from './cancel';
import type { Config } from '../../protocol/config';
import type {
  Attempt,
  Capability,
  CompleteParams,
  FailureKind,
  FallbackPlan,
  Priority,
  ToolCallDelta,
} from '../../protocol/types';
import type { HealthRegistry } from './health';
import type { Clock, Provider } from './types';

export type EngineConfig = Pick<
  Config,
  | 'strategy'
  | 'timeoutMs'
  | 'requestTimeoutMs'
  | 'maxRetries'
  | 'backoff'
  | 'maxRetryAfterMs'
  | 'firstTokenTimeoutMs'
  | 'idleTimeoutMs'
  | 'hedging'
  | 'contentPolicyFallback'
>;

export interface ResolvedModel {
  id: string;
  provider: Provider;
  /** The model name without the provider prefix (what the provider is asked for). */
  name: string;
  contextLength?: number;
  kind: 'local' | 'cloud';
  /** What the model can do, when known (discovery, model families, config): a request it cannot serve skips it. */
  capabilities?: readonly Capability[];
}

/** Request settings the planner may change for a retry of the same model. */
export interface Adjustments {
  contextSize?: number;
  gpuLayers?: number;
  maxTokens?: number;
  /** Oldest conversation turns left out to fit the context (the caller allowed it: trimPrompt). */
  droppedTurns?: number;
}

export interface PlanContext {
  model: string;
  failure: FailureKind;
  message: string;
  retryAfterMs?: number;
  request: EngineRequest;
  /** The request's attempts so far: a model that already failed it is not proposed again. */
  attempts?: readonly Attempt[];
}

export interface EngineDeps {
  clock: Clock;
  random: () => number;
  health: HealthRegistry;
  config: () => EngineConfig;
  resolve(modelId: string): ResolvedModel | undefined;
  /** Optional queue slot (the queue is another module); resolves with a release function. */
  acquire?(
    modelId: string,
    priority: Priority,
    signal: Abortable,
    opts?: { expectedTokens?: number },
  ): Promise<() => void>;
  /**
   * autoSwitch: settings that let this model serve after a failure (e.g. a smaller context after
   * out_of_memory), from the planner. The lane retries the model once with them and records them.
   */
  adjust?(ctx: PlanContext): Adjustments | undefined;
  /**
   * Why a call to this model is pointless now, or undefined: its host or the network is offline
   * (kind network), its provider's spend budget is used up (kind rate_limited, "budget: …"). Such a
   * model is skipped with the reason, and a network failure is not retried once it says so.
   */
  unavailable?(model: ResolvedModel): { kind: FailureKind; message: string } | undefined;
  /** The `cheapest` strategy: the expected cost of this request on this model, US dollars (undefined: unknown). */
  cost?(model: string, req: EngineRequest): number | undefined;
  /** Optional planner hook, consulted when the chain is exhausted. */
  plan?(ctx: PlanContext): FallbackPlan | undefined;
  onEvent?(e: EngineEvent): void;
}

export type EngineEvent =
  | { type: 'fallback'; requestId: string; from: string; to: string; failure: FailureKind; message: string }
  | { type: 'attempt'; requestId: string; attempt: Attempt };

/** A completion with its chain already resolved by the daemon (named chains expanded, defaults applied). */
export interface EngineRequest extends CompleteParams {
  chain: string[];
  /**
   * The purpose's latency budget (config purposes.<purpose>.budgetMs): no first token within it and the
   * next model is hedged in; models whose recent p95 first-token time exceeds it are tried last.
   */
  budgetMs?: number;
}

export interface RunOptions {
  requestId: string;
  /** The caller's cancellation: an AbortSignal, or a `Cancel` (the gateway's, cheaper). */
  signal: Abortable;
  /** Streaming callers: every forwarded delta, tagged with the model that produced it. */
  onDelta?: (delta: string, model: string) => void;
  /** Streaming callers: every forwarded piece of a tool call. */
  onToolCallDelta?: (delta: ToolCallDelta, model: string) => void;
  /**
   * false: the caller wants the answer in one piece, so the upstream is asked for a plain response
   * (no first-token or idle deadline then: only the attempt deadline). Default true.
   */
  upstreamStream?: boolean;
  /** Discard what was streamed so far: `model` starts over (send `backstop/stream` with `reset: true`). */
  onReset?: (model: string) => void;
  /** The request is moving from one model to another (before the next model starts). */
  onFallback?: (from: string, to: string) => void;
  /** Every attempt of this request as it is recorded. */
  onAttempt?: (a: Attempt) => void;
}
