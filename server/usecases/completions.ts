// The completions use case: one request through the chain, whatever the front end (RPC, gateway, and
// next the vscode.lm provider). Resolves named chains, runs the engine, records statistics and, when
// the user enabled it, serves a clearly labelled mock answer once no model could answer.
import crypto from 'node:crypto';
import { ErrorCodes } from '../../protocol/errors';
import { isModelId, namedChainOf } from '../../protocol/modelId';
import type { Attempt, CompleteParams, CompleteResult, FailureKind, ToolCallDelta } from '../../protocol/types';
import type { Abortable } from '../core/cancel';
import { isEngineError } from '../core/engine';
import { failedEvent, fellBack } from '../core/eventHistory';
import { RpcError } from '../rpc/rpcError';
import type { Services } from '../app/services';
import { purposeChain } from '../core/purposeStats';
import type { Config } from '../../protocol/config';

/** Resolved chains kept per configuration. */
const MAX_RESOLVED_CHAINS = 256;

/** The id a mock answer carries: never a real model, so no caller can mistake it for one. */
export const MOCK_MODEL = 'backstop/mock';

export interface CompletionHooks {
  /** A piece of the answer from `model`. */
  onDelta?: (delta: string, model: string) => void;
  /** A piece of a tool call from `model`. */
  onToolCallDelta?: (delta: ToolCallDelta, model: string) => void;
  /** false: the caller takes the answer in one piece, so upstreams are asked for one too. */
  upstreamStream?: boolean;
  /** Discard what arrived so far: the answer moves to another model. */
  onReset?: (model: string) => void;
  onFallback?: (from: string, to: string) => void;
  onAttempt?: (a: Attempt) => void;
  /** The whole mock answer (mockGeneration); without this hook it arrives through onDelta. */
  onMockAnswer?: (text: string, model: string) => void;
}

export class CompletionService {
  constructor(private readonly s: Services) {}

  /**
   * Chains already resolved, per configuration (a new one is a new object: nothing goes stale): every
   * gateway request resolves its chain (issue 21). Bounded: a client naming many models fills no memory.
   */
  private readonly resolved = new WeakMap<object, Map<string, readonly string[]>>();

  /** "chain:<name>" entries expand to the named chain from config; duplicates keep their first place. */
  resolveChain(requested: readonly string[] | undefined): string[] {
    const cfg = this.s.state.config;
    const key = requested && requested.length ? requested.join('\n') : '';
    let known = this.resolved.get(cfg);
    if (!known) this.resolved.set(cfg, (known = new Map()));
    const hit = known.get(key);
    if (hit) return [...hit];
    const chain = this.expandChain(cfg, requested);
    if (known.size < MAX_RESOLVED_CHAINS) known.set(key, chain);
    return [...chain];
  }

  private expandChain(cfg: Config, requested: readonly string[] | undefined): string[] {
    const raw = requested && requested.length ? requested : cfg.chain;
    const out: string[] = [];
    for (const id of raw) {
      const name = namedChainOf(id);
      if (name === undefined) {
        out.push(id);
        continue;
      }
      const named = cfg.chains[name];
      if (!named) {
        const known = Object.keys(cfg.chains).join(', ') || '(none)';
        throw new RpcError(ErrorCodes.UnknownModel, `unknown chain "${name}": configured chains are ${known}`);
      }
      out.push(...named);
    }
    const chain = [...new Set(out)];
    if (!chain.length) {
      throw new RpcError(
        ErrorCodes.InvalidParams,
        'invalid params: chain: no models to try — set "chain" in the configuration or pass one with the request',
        { field: 'chain' },
      );
    }
    for (const id of chain)
      if (!isModelId(id) || !this.s.state.providerIdKnown(id)) throw this.s.state.unknownModel(id);
    return chain;
  }

  /** `p` is validated already (the handler table or the gateway's own schema did it). */
  async complete(p: CompleteParams, signal: Abortable, hooks: CompletionHooks = {}): Promise<CompleteResult> {
    const s = this.s;
    const cfg = s.state.config;
    const chain = this.resolveChain(p.chain ?? purposeChain(cfg, p.purpose));
    const budgetMs = p.purpose === undefined ? null : cfg.purposes[p.purpose].budgetMs;
    // The daemon-wide guard applies to every front end; a request can only add to it.
    const localOnly = p.localOnly === true || s.state.config.privacy.localOnly;
    const requestId = crypto.randomUUID();
    const started = s.clock.now();
    let firstAt: number | undefined;
    s.requestStarted();
    try {
      const result = await s.engine.run(
        { ...p, chain, ...(localOnly ? { localOnly } : {}), ...(budgetMs === null ? {} : { budgetMs }) },
        {
          requestId,
          signal,
          ...(hooks.onDelta ? { onDelta: firstDelta(hooks.onDelta, () => (firstAt ??= s.clock.now())) } : {}),
          ...(hooks.onToolCallDelta ? { onToolCallDelta: hooks.onToolCallDelta } : {}),
          ...(hooks.upstreamStream === false ? { upstreamStream: false } : {}),
          onReset: (model) => hooks.onReset?.(model),
          ...(hooks.onFallback ? { onFallback: hooks.onFallback } : {}),
          ...(hooks.onAttempt ? { onAttempt: hooks.onAttempt } : {}),
        },
      );
      s.stats.record({ modelUsed: result.modelUsed, fallback: result.fallbackOccurred, ok: true });
      // A caller that takes the answer in one piece gets its "first token" with the whole answer.
      if (p.purpose) s.purposeStats.record(p.purpose, (firstAt ?? s.clock.now()) - started);
      s.spend.record(p, result);
      return result;
    } catch (e) {
      if (isEngineError(e) && e.code === ErrorCodes.Exhausted && s.state.config.mockGeneration) {
        return this.mock(e.message, e.data.attempts ?? [], s.clock.now() - started, requestId, chain, hooks);
      }
      // A request the caller cancelled (inline completions do, as the user types) is not a failure.
      if ((e as { code?: unknown }).code !== ErrorCodes.RequestCancelled) {
        const attempts = isEngineError(e) ? (e.data.attempts ?? []) : [];
        // A request that fell through several models before failing did fall back.
        s.stats.record({ fallback: fellBack(attempts), ok: false });
        s.recordFailed({
          requestId,
          message: e instanceof Error ? e.message : String(e),
          ...failedEvent(attempts),
        });
      }
      if (isEngineError(e)) throw new RpcError(e.code, e.message, e.data);
      throw e;
    } finally {
      s.requestEnded();
    }
  }

  private mock(
    reason: string,
    attempts: Attempt[],
    latencyMs: number,
    requestId: string,
    chain: string[],
    hooks: CompletionHooks,
  ): CompleteResult {
    const s = this.s;
    const mock = mockResult(reason, attempts, latencyMs);
    const last = mock.attempts.at(-2);
    s.log.warn(`mock answer served (mockGeneration is on): ${reason}`);
    const failure: FailureKind = last?.failure ?? 'unknown';
    const fb = {
      requestId,
      from: last?.model ?? chain[0] ?? 'chain',
      to: MOCK_MODEL,
      failure,
      message: 'no model could answer: a labelled mock answer was served (mockGeneration is on)',
    };
    s.recordFallback(fb);
    if (hooks.onMockAnswer) hooks.onMockAnswer(mock.text, MOCK_MODEL);
    else hooks.onDelta?.(mock.text, MOCK_MODEL);
    s.stats.record({ modelUsed: MOCK_MODEL, fallback: true, ok: true });
    return mock;
  }
}

/**
 * A clearly labelled placeholder, only when the user enabled `mockGeneration` and no model could
 * answer: `mock: true`, `modelUsed: "backstop/mock"`, and text that says what it is.
 */
function mockResult(reason: string, attempts: Attempt[], latencyMs: number): CompleteResult {
  return {
    text:
      '[Backstop mock answer: no model could answer, so this placeholder was generated because ' +
      `mockGeneration is enabled. ${reason}]`,
    modelUsed: MOCK_MODEL,
    fallbackOccurred: true,
    mock: true,
    attempts: [
      ...attempts,
      {
        model: MOCK_MODEL,
        outcome: 'success',
        latencyMs: 0,
        retry: 0,
        message: 'mock generation (mockGeneration is on)',
      },
    ],
    totalLatencyMs: latencyMs,
    queuedMs: 0,
    usage: { promptTokens: 0, completionTokens: 0 },
    finishReason: 'stop',
  };
}

/** `onDelta` that first calls `mark` (once per delta; `mark` keeps only the first). */
function firstDelta(
  onDelta: (delta: string, model: string) => void,
  mark: () => void,
): (delta: string, model: string) => void {
  return (delta, model) => {
    mark();
    onDelta(delta, model);
  };
}
