// backstop/complete: validate, resolve the chain, run the engine, stream deltas to the caller only.
import crypto from 'node:crypto';
import { methods } from '../../protocol/index';
import { ErrorCodes } from '../../protocol/errors';
import type { Attempt, CompleteParams, CompleteResult } from '../../protocol/types';
import { isEngineError } from '../core/engine';
import { parseParams, schemas } from '../params';
import type { CallContext } from '../rpc';
import { RpcError } from '../rpcError';
import type { Services } from '../services';

export interface CompleteHooks {
  /** Gateway streaming: receive deltas and resets directly instead of notifications. */
  onDelta?: (delta: string, model: string) => void;
  onReset?: (model: string) => void;
  onFallback?: (from: string, to: string) => void;
  onAttempt?: (a: import('../../protocol/types').Attempt) => void;
}

/** "chain:<name>" entries expand to the named chain from config; duplicates keep their first place. */
export function resolveChain(s: Services, requested: string[] | undefined): string[] {
  const cfg = s.state.config;
  const raw = requested && requested.length ? requested : cfg.chain;
  const out: string[] = [];
  for (const id of raw) {
    if (id.startsWith('chain:')) {
      const named = cfg.chains[id.slice(6)];
      if (!named) throw new RpcError(ErrorCodes.UnknownModel, `unknown chain "${id.slice(6)}": configured chains are ${Object.keys(cfg.chains).join(', ') || '(none)'}`);
      out.push(...named);
    } else out.push(id);
  }
  const chain = [...new Set(out)];
  if (!chain.length) throw new RpcError(ErrorCodes.InvalidParams, 'invalid params: chain: no models to try — set "chain" in the configuration or pass one with the request', { field: 'chain' });
  for (const id of chain) if (!s.state.providerIdKnown(id) || id.indexOf('/') <= 0) throw s.state.unknownModel(id);
  return chain;
}

export async function runComplete(s: Services, params: unknown, ctx: CallContext, hooks: CompleteHooks = {}): Promise<CompleteResult> {
  const p = parseParams(schemas.complete, params) as CompleteParams;
  const chain = resolveChain(s, p.chain);
  const requestId = crypto.randomUUID();
  const streamId = p.streamId;
  const started = s.clock.now();
  s.requestStarted();
  try {
    const result = await s.engine.run(
      { ...p, chain },
      {
        requestId,
        signal: ctx.signal,
        onDelta: (delta, model) => {
          hooks.onDelta?.(delta, model);
          if (streamId) ctx.peer.notify(methods.stream, { streamId, delta, model });
        },
        ...(hooks.onFallback ? { onFallback: hooks.onFallback } : {}),
        ...(hooks.onAttempt ? { onAttempt: hooks.onAttempt } : {}),
        onReset: (model) => {
          hooks.onReset?.(model);
          if (streamId) ctx.peer.notify(methods.stream, { streamId, delta: '', model, reset: true });
        },
      },
    );
    s.stats.record({ modelUsed: result.modelUsed, fallback: result.fallbackOccurred, ok: true });
    return result;
  } catch (e) {
    if (isEngineError(e) && e.code === ErrorCodes.Exhausted && s.state.config.mockGeneration) {
      const mock = mockResult(e.message, e.data.attempts ?? [], s.clock.now() - started);
      const last = mock.attempts.at(-2);
      s.log.warn(`mock answer served (mockGeneration is on): ${e.message}`);
      const fb = { requestId, from: last?.model ?? chain[0] ?? 'chain', to: MOCK_MODEL, failure: last?.failure ?? ('unknown' as const), message: 'no model could answer: a labelled mock answer was served (mockGeneration is on)' };
      s.lastFallback = { ...fb, at: new Date(s.clock.now()).toISOString() };
      s.state.peers.broadcast(methods.fallback, fb);
      // Streaming callers see it like any other answer: discard what came before, then the mock.
      hooks.onDelta?.(mock.text, MOCK_MODEL);
      if (streamId) {
        ctx.peer.notify(methods.stream, { streamId, delta: '', model: MOCK_MODEL, reset: true });
        ctx.peer.notify(methods.stream, { streamId, delta: mock.text, model: MOCK_MODEL });
      }
      s.stats.record({ modelUsed: MOCK_MODEL, fallback: true, ok: true });
      return mock;
    }
    // A request the caller cancelled (inline completions do, as the user types) is not a failure.
    if ((e as { code?: unknown }).code !== ErrorCodes.RequestCancelled) s.stats.record({ fallback: false, ok: false });
    if (isEngineError(e)) throw new RpcError(e.code, e.message, e.data);
    throw e;
  } finally {
    s.requestEnded();
  }
}

/** The id a mock answer carries: never a real model, so no caller can mistake it for one. */
export const MOCK_MODEL = 'backstop/mock';

/**
 * A clearly labelled placeholder, only when the user enabled `mockGeneration` and no model could
 * answer: `mock: true`, `modelUsed: "backstop/mock"`, and text that says what it is.
 */
function mockResult(reason: string, attempts: Attempt[], latencyMs: number): CompleteResult {
  return {
    text: `[Backstop mock answer: no model could answer, so this placeholder was generated because mockGeneration is enabled. ${reason}]`,
    modelUsed: MOCK_MODEL,
    fallbackOccurred: true,
    mock: true,
    attempts: [...attempts, { model: MOCK_MODEL, outcome: 'success', latencyMs: 0, retry: 0, message: 'mock generation (mockGeneration is on)' }],
    totalLatencyMs: latencyMs,
    queuedMs: 0,
    usage: { promptTokens: 0, completionTokens: 0 },
    finishReason: 'stop',
  };
}
