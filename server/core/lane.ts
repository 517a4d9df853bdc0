// One model's part of a request: ask health for admission, take a queue slot, run the attempt,
// tell health the verdict, and apply the retry policy — until the model answers, the policy says
// "next model", or the lane is stopped (request cancelled or past its deadline, race lost).
import type { Attempt, ChatMessage, FailureKind } from '../../protocol/types';
import { runAttempt, type AttemptOutcome } from './attempt';
import { Cancel, type Abortable } from './cancel';
import { COUNTS_AGAINST_MODEL } from './circuit';
import type { Adjustments, EngineConfig, EngineDeps, EngineRequest, ResolvedModel } from './engineTypes';
import { decideRetry } from './retryPolicy';
import type { StreamGate } from './streamGate';
import {
  DEFAULT_COMPLETION_TOKENS,
  fitFimToContext,
  trimConversation,
  unmetNeed,
  type RequestNeeds,
} from './requirements';
import { PRIVACY_SKIP, privacyForbids } from './privacy';
import { PASS_THROUGH_FIELDS, sleep, type GenerateRequest, type GenerateResult } from './types';

/** What a lane needs from the request it belongs to (RequestRun implements it). */
export interface LaneContext {
  readonly deps: EngineDeps;
  readonly cfg: EngineConfig;
  readonly req: EngineRequest;
  readonly gate: StreamGate;
  /** Ask upstreams for a stream (false: the caller wants one piece, the attempt deadline alone applies). */
  readonly upstreamStream: boolean;
  /** What the request needs from a model (tools, vision, structured output, context). */
  readonly needs: RequestNeeds;
  readonly startedAt: number;
  readonly deadlineAt: number;
  record(a: Attempt): void;
  /** A queue slot for the model (a no-op release when there is no queue); rejects when `signal` aborts. */
  acquire(model: string, signal: Abortable): Promise<() => void>;
  /** Why the whole request stopped, if it did: the outcome its aborted attempts get. */
  stopOutcome(): 'cancelled' | 'timeout' | undefined;
}

export type LaneOutcome =
  | { type: 'won'; model: string; result: GenerateResult }
  | {
      type: 'failed';
      model: string;
      kind: FailureKind;
      message: string;
      contextOverflow: boolean;
      contextLength?: number;
    }
  | { type: 'stopped'; model: string };

/** The abort reason of a lane that lost a race (fastest, hedging). */
export const LOST_RACE = 'another model answered first';

export class Lane {
  private readonly ctl = new Cancel();
  /** Stops following the request (the lane is done). */
  private readonly unfollow: () => void;
  /** The current attempt has produced a first token (hedging waits for exactly this). */
  firstToken = false;
  /** Planner adjustments applied to this model's later attempts (autoSwitch). */
  private adjusted: Adjustments | undefined;
  /** Why `adjusted` was applied, when the trace should say so (a lowered maxTokens). */
  private adjustedWhy: string | undefined;
  /** The conversation without its oldest turns, when the caller allowed trimming (trimPrompt). */
  private trimmed: ChatMessage[] | undefined;

  constructor(
    private readonly ctx: LaneContext,
    readonly model: string,
    parent: Abortable,
  ) {
    this.unfollow = this.ctl.follow(parent);
  }

  abort(reason: string): void {
    this.ctl.abort(reason);
  }

  async run(): Promise<LaneOutcome> {
    try {
      return await this.runLane();
    } finally {
      // A lane that is done no longer follows the request: nothing is left to abort when it ends.
      this.unfollow();
    }
  }

  private async runLane(): Promise<LaneOutcome> {
    const { deps } = this.ctx;
    const resolved = deps.resolve(this.model);
    if (!resolved)
      return this.skip('model_missing', `unknown model "${this.model}": no configured provider serves it`, 0);
    // Before admission, queue or drill: not one byte of a local-only request goes to a cloud model.
    if (privacyForbids(this.ctx.req, resolved)) return this.skip('unsupported', PRIVACY_SKIP, 0);
    // Fill-in-the-middle prompts are trimmed to the model's context instead (toGenerateRequest).
    const checkContext = this.ctx.req.suffix === undefined;
    let unmet = unmetNeed(this.ctx.needs, resolved, { checkContext });
    // Only the context is short: autoSwitch may lower maxTokens to what fits before moving on.
    if (unmet && checkContext && !unmetNeed(this.ctx.needs, resolved, { checkContext: false })) {
      if (this.fitAnswer(resolved, unmet) || this.fitPrompt(resolved, unmet)) unmet = undefined;
    }
    if (unmet) return this.skip('unsupported', unmet, 0);
    const fail = this.ctx.req.forceFail;
    const forced = fail?.models.includes(this.model) ? (fail.kind ?? 'server_error') : undefined;
    for (let retry = 0; ; retry++) {
      if (this.ctl.aborted) return { type: 'stopped', model: this.model };
      const off = deps.unavailable?.(resolved);
      if (off) return this.skip(off.kind, off.message, retry);
      const adm = deps.health.admit(this.model);
      if (!adm.ok) return this.skip(deps.health.get(this.model).lastFailure ?? 'unknown', adm.reason, retry);
      if (forced) {
        // The failover drill: health must not learn anything from a failure that never happened.
        if (adm.probe) deps.health.releaseProbe(this.model);
        const message = `forced failure (failover drill): ${forced}`;
        this.ctx.record({
          model: this.model,
          outcome: 'error',
          failure: forced,
          message,
          latencyMs: 0,
          retry,
          startedAtMs: this.sinceStart(),
        });
        return {
          type: 'failed',
          model: this.model,
          kind: forced,
          message,
          contextOverflow: forced === 'context_overflow',
        };
      }
      let release: () => void;
      try {
        release = await this.ctx.acquire(this.model, this.ctl);
      } catch (e) {
        if (adm.probe) deps.health.releaseProbe(this.model);
        if (this.ctl.aborted) return { type: 'stopped', model: this.model };
        return this.skip('unknown', `no queue slot: ${e instanceof Error ? e.message : String(e)}`, retry);
      }
      const o = await this.attempt(resolved, release);
      const startedAtMs = this.sinceStart() - o.latencyMs;
      const base = {
        model: this.model,
        retry,
        latencyMs: o.latencyMs,
        startedAtMs,
        ...(this.adjusted ? { adjustments: { ...this.adjusted } } : {}),
        ...(this.adjustedWhy ? { message: this.adjustedWhy } : {}),
      };
      if (o.ok) {
        deps.health.onSuccess(this.model, o.latencyMs, o.ttftMs);
        this.ctx.record({ ...base, outcome: 'success' });
        return { type: 'won', model: this.model, result: o.result };
      }
      if (o.aborted) {
        if (adm.probe) deps.health.releaseProbe(this.model);
        const outcome = this.ctx.stopOutcome() ?? 'cancelled';
        this.ctx.record({
          ...base,
          outcome,
          failure: outcome === 'timeout' ? 'timeout' : 'cancelled',
          message: o.message,
        });
        return { type: 'stopped', model: this.model };
      }
      if (countsForHealth(this.ctx.req, o.kind)) deps.health.onFailure(this.model, o.kind, o.message, o.retryAfterMs);
      if (adm.probe && o.kind !== 'rate_limited' && !COUNTS_AGAINST_MODEL.has(o.kind))
        deps.health.releaseProbe(this.model);
      this.ctx.record({
        ...base,
        outcome: o.kind === 'timeout' ? 'timeout' : 'error',
        failure: o.kind,
        message: o.message,
        ...(o.status === undefined ? {} : { status: o.status }),
      });
      // Offline mode: this failure took the host (or the network) offline; retrying it is pointless.
      const gone = o.kind === 'network' ? deps.unavailable?.(resolved) : undefined;
      if (gone)
        return { type: 'failed', model: this.model, kind: o.kind, message: gone.message, contextOverflow: false };
      const now = deps.clock.now();
      const d = decideRetry({
        kind: o.kind,
        retry,
        maxRetries: this.ctx.cfg.maxRetries,
        blockedForMs: Math.max(0, (deps.health.blocked(this.model)?.until ?? now) - now),
        backoff: this.ctx.cfg.backoff,
        maxRetryAfterMs: this.ctx.cfg.maxRetryAfterMs,
        timeLeftMs: this.ctx.deadlineAt - now,
        random: deps.random,
        ...(o.retryAfterMs === undefined ? {} : { retryAfterMs: o.retryAfterMs }),
      });
      if (d.action === 'stop') return { type: 'stopped', model: this.model };
      if (d.action === 'retry') {
        try {
          await sleep(deps.clock, d.delayMs, this.ctl);
        } catch {
          return { type: 'stopped', model: this.model };
        }
        continue;
      }
      if (!this.adjusted && deps.adjust) {
        if (o.kind === 'context_overflow' && this.fitAnswer(resolved, o.message)) continue;
        const adj =
          o.kind === 'context_overflow'
            ? undefined
            : deps.adjust({ model: this.model, failure: o.kind, message: o.message, request: this.ctx.req });
        if (adj && Object.keys(adj).length) {
          // autoSwitch: the planner found settings that fit; retry this model once with them.
          this.adjusted = adj;
          continue;
        }
      }
      const failed: LaneOutcome = {
        type: 'failed',
        model: this.model,
        kind: o.kind,
        message: o.message,
        contextOverflow: d.action === 'next_fitting',
      };
      if (resolved.contextLength !== undefined) failed.contextLength = resolved.contextLength;
      return failed;
    }
  }

  /**
   * autoSwitch after a context overflow (seen before the call, or reported by the provider): a smaller
   * maxTokens that fits this model, recorded with the reason for the attempt trace. False: none fits.
   */
  private fitAnswer(resolved: ResolvedModel, why: string): boolean {
    const adj = this.ctx.deps.adjust?.({
      model: this.model,
      failure: 'context_overflow',
      message: why,
      request: this.ctx.req,
    });
    if (adj?.maxTokens === undefined) return false;
    this.adjusted = adj;
    const asked = this.ctx.req.maxTokens ?? DEFAULT_COMPLETION_TOKENS;
    const size = resolved.contextLength === undefined ? '' : ` of ${resolved.contextLength} tokens`;
    this.adjustedWhy = `maxTokens lowered from ${asked} to ${adj.maxTokens} to fit ${this.model}'s context${size} (${why})`;
    return true;
  }

  /** The caller allows trimming (trimPrompt): leave out the oldest turns until the conversation fits. */
  private fitPrompt(resolved: ResolvedModel, why: string): boolean {
    const req = this.ctx.req;
    if (!req.trimPrompt || !req.messages || resolved.contextLength === undefined) return false;
    const t = trimConversation(req, resolved.contextLength);
    if (!t) return false;
    this.trimmed = t.messages;
    this.adjusted = { ...this.adjusted, droppedTurns: t.droppedTurns };
    const turns = t.droppedTurns === 1 ? 'turn' : 'turns';
    this.adjustedWhy =
      `left out the ${t.droppedTurns} oldest ${turns} of the conversation (about ${t.droppedTokens} tokens) to fit ` +
      `${this.model}'s context of ${resolved.contextLength} tokens (${why})`;
    return true;
  }

  private async attempt(resolved: ResolvedModel, release: () => void): Promise<AttemptOutcome> {
    const { deps, cfg, gate } = this.ctx;
    const ch = gate.open(this.model);
    this.firstToken = false;
    let o: AttemptOutcome;
    try {
      o = await runAttempt({
        clock: deps.clock,
        provider: resolved.provider,
        request: toGenerateRequest(this.ctx.req, resolved, this.adjusted, this.ctx.upstreamStream, this.trimmed),
        signal: this.ctl,
        // A local model's first token includes loading it from disk and evaluating the prompt on the
        // CPU: only the attempt deadline applies there, not the cloud-oriented first-token one.
        // A plain (non-streamed) upstream answer has no first token before the whole answer.
        limits: {
          attemptMs: cfg.timeoutMs,
          firstTokenMs:
            resolved.kind === 'local' || !this.ctx.upstreamStream
              ? cfg.timeoutMs
              : Math.min(cfg.firstTokenTimeoutMs, cfg.timeoutMs),
          idleMs: this.ctx.upstreamStream ? cfg.idleTimeoutMs : cfg.timeoutMs,
        },
        onDelta: (delta) => {
          this.firstToken = true;
          gate.push(ch, delta);
        },
        onToolCallDelta: (delta) => {
          this.firstToken = true;
          gate.pushToolCall(ch, delta);
        },
      });
    } finally {
      release();
    }
    if (o.ok) gate.succeed(ch, o.result.text, o.result.toolCalls);
    else gate.fail(ch);
    return o;
  }

  private skip(failure: FailureKind, message: string, retry: number): LaneOutcome {
    this.ctx.record({
      model: this.model,
      outcome: 'skipped',
      failure,
      message,
      latencyMs: 0,
      retry,
      startedAtMs: this.sinceStart(),
    });
    return { type: 'failed', model: this.model, kind: failure, message, contextOverflow: false };
  }

  private sinceStart(): number {
    return this.ctx.deps.clock.now() - this.ctx.startedAt;
  }
}

/** Failures that say nothing about the model are kept out of its health (and its circuit). */
const INLINE_NOT_THE_MODELS_FAULT: ReadonlySet<FailureKind> = new Set(['timeout', 'stream_interrupted']);

/**
 * Inline completions run on deadlines of a few hundred milliseconds: a model too slow for ghost text
 * is not down for chat, so such a failure moves the inline request on without opening a circuit.
 */
export function countsForHealth(req: EngineRequest, kind: FailureKind): boolean {
  return !(req.purpose === 'inline' && INLINE_NOT_THE_MODELS_FAULT.has(kind));
}

function toGenerateRequest(
  req: EngineRequest,
  model: ResolvedModel,
  adj: Adjustments | undefined,
  stream: boolean,
  trimmed?: ChatMessage[],
): GenerateRequest {
  const g: GenerateRequest = { model: model.name };
  if (!stream) g.stream = false;
  for (const key of PASS_THROUGH_FIELDS) if (req[key] !== undefined) Object.assign(g, { [key]: req[key] });
  if (trimmed) g.messages = trimmed;
  if (adj?.contextSize !== undefined) g.contextSize = adj.contextSize;
  if (adj?.gpuLayers !== undefined) g.gpuLayers = adj.gpuLayers;
  if (req.maxTokens !== undefined)
    g.maxTokens = adj?.maxTokens !== undefined ? Math.min(adj.maxTokens, req.maxTokens) : req.maxTokens;
  else if (adj?.maxTokens !== undefined) g.maxTokens = adj.maxTokens;
  // The cursor sits between prefix and suffix: keep what is nearest to it when the context is small.
  if (req.suffix !== undefined && req.prompt !== undefined && model.contextLength !== undefined) {
    const fit = fitFimToContext(req.prompt, req.suffix, model.contextLength, g.maxTokens ?? DEFAULT_COMPLETION_TOKENS);
    g.prompt = fit.prefix;
    g.suffix = fit.suffix;
  }
  return g;
}
