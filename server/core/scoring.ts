// Compatibility score in 0..1 between a requested model and each candidate, and the ranked
// suggestions of `backstop/suggest`. Pure: everything it knows comes in through ModelInfo.
import { humanDuration } from '../../protocol/humanTime';
import type { Capability, FailureKind, ModelInfo, Requirements, Suggestion } from '../../protocol/types';
import type { Clock } from './types';

/** Weights of the compatibility score (sum 1).
 *  - capability 0.30: a substitute that cannot do what the caller does (FIM for inline completion,
 *    tools, vision) fails outright, whatever its speed; overlap matters most.
 *  - requirements 0.25: explicit asks (minContext, required capabilities, speed or quality
 *    preference) are the caller's own words and almost as decisive.
 *  - performance 0.20: quality and speed relative to the requested model: a worse answer is still an
 *    answer, so this ranks usable options rather than excluding them.
 *  - availability 0.15: unavailable models are also ranked below available ones outright (see
 *    scoreCandidates), so inside the score this only separates ready from loading or degraded.
 *  - fit 0.10: a local model that does not fit memory would fail to load; usually already reflected
 *    in availability, so it only tips close calls. */
export const WEIGHTS = { capability: 0.3, requirements: 0.25, performance: 0.2, availability: 0.15, fit: 0.1 } as const;

/** A failure this recent counts against a model in suggestions and plans. */
export const RECENT_FAILURE_MS = 5 * 60_000;
/** Calls after which a model's success rate is believed in full; fewer are weighed toward "unknown". */
export const TRUSTED_CALLS = 3;
/** The live-health multiplier never drops below this: a failing model still ranks, last. */
export const MIN_HEALTH_FACTOR = 0.1;
/** A recent failure of the same kind as the one being planned for (it will likely fail the same way). */
export const SAME_FAILURE_FACTOR = 0.4;
/** A recent failure of another kind. */
export const OTHER_FAILURE_FACTOR = 0.8;
/** Success rates below this are worth a reason. */
const MENTION_SUCCESS_BELOW = 0.8;

/** What the caller knows live: the time, and the failure a plan is for. */
export interface LiveContext {
  now?: number;
  /** The failure being planned for: a candidate that failed the same way recently is trusted less. */
  failure?: FailureKind;
  waitMs?: (model: string) => number | undefined;
}

/** Failure kinds as a person says them of a model: "ran out of memory 2 s ago". */
const FAILED_AS: Partial<Record<FailureKind, string>> = {
  rate_limited: 'was rate limited',
  timeout: 'timed out',
  network: 'was unreachable',
  server_error: 'had a server error',
  auth: 'rejected its API key',
  bad_request: 'rejected a request',
  context_overflow: 'ran out of context',
  content_filter: 'refused a request (content filter)',
  stream_interrupted: 'broke off mid-answer',
  model_missing: 'was missing',
  model_load: 'failed to load',
  out_of_memory: 'ran out of memory',
  unknown: 'failed',
};

/**
 * Live health as a multiplier in MIN_HEALTH_FACTOR..1, with its reasons: the success rate over the
 * recent calls (trusted in full after TRUSTED_CALLS), and a recent failure, heavier when it is the
 * same kind as the failure being planned for.
 */
export function healthFactor(m: ModelInfo, live: LiveContext = {}): { factor: number; reasons: string[] } {
  const h = m.health;
  const reasons: string[] = [];
  let factor = 1;
  const calls = h.recentCalls ?? h.successCount + h.failureCount;
  const rate = h.recentSuccessRate ?? h.successRate;
  if (calls > 0) {
    const trust = Math.min(1, calls / TRUSTED_CALLS);
    factor *= 1 - trust + trust * rate;
    if (rate < MENTION_SUCCESS_BELOW)
      reasons.push(`${Math.round(rate * 100)} % success in its last ${calls} call${calls === 1 ? '' : 's'}`);
  }
  const at = h.lastFailureAt ? Date.parse(h.lastFailureAt) : NaN;
  const said = h.lastFailure ? FAILED_AS[h.lastFailure] : undefined;
  if (said && live.now !== undefined && Number.isFinite(at) && live.now - at < RECENT_FAILURE_MS) {
    const same = h.lastFailure === live.failure;
    factor *= same ? SAME_FAILURE_FACTOR : OTHER_FAILURE_FACTOR;
    reasons.push(`${said} ${humanDuration(Math.max(0, live.now - at))} ago${same ? ', the same failure' : ''}`);
  }
  return { factor: Math.max(MIN_HEALTH_FACTOR, factor), reasons };
}

/** Descriptive tags say how a model is, not what it can do: they do not count as capability overlap. */
const DESCRIPTIVE: readonly Capability[] = ['fast', 'high_quality'];
/** log2 of effective size (parameters × bits) per unit of qualityDelta: 16× the size = +1. */
const QUALITY_LOG2_SPAN = 4;

const AVAILABILITY_SCORE: Record<ModelInfo['availability'], number> = {
  ready: 1,
  loading: 0.8,
  cooling_down: 0.3,
  missing: 0.2,
  unreachable: 0,
  incompatible: 0,
};

/** Parameter count from "7B", "0.5b", "103M", "1.5 B". */
export function parseParameters(p: string | undefined): number | undefined {
  const m = p?.trim().match(/^(\d+(?:\.\d+)?)\s*([kmbt])?/i);
  if (!m?.[1]) return undefined;
  const unit = { k: 1e3, m: 1e6, b: 1e9, t: 1e12 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'b' | 't'] ?? 1;
  return Number(m[1]) * unit;
}

/** Bits per weight from a GGUF file type name ("Q4_K_M" ≈ 4.5, "Q8_0" 8, "F16" 16). */
export function quantizationBits(q: string | undefined): number | undefined {
  if (!q) return undefined;
  const u = q.toUpperCase();
  if (/BF16|F16/.test(u)) return 16;
  if (/F32/.test(u)) return 32;
  const m = u.match(/I?Q(\d)(_K)?/);
  if (!m?.[1]) return undefined;
  // K-quants keep some tensors at higher precision: about half a bit more on average.
  return Number(m[1]) + (m[2] ? 0.5 : 0);
}

/** log2 of parameters × bits, a proxy for quality when no benchmark of quality exists. */
function sizeScore(m: ModelInfo): number | undefined {
  const params = parseParameters(m.parameters);
  if (params === undefined) return undefined;
  return Math.log2(params * (quantizationBits(m.quantization) ?? 16));
}

/** Expected quality of `cand` relative to `req`, -1..1. Parameter count × quantization bits when both
 *  are known; else benchmark generation speed on this machine (a faster model is a smaller one);
 *  else 0 (unknown, not assumed worse). */
export function qualityDelta(req: ModelInfo | { id: string }, cand: ModelInfo): number {
  if ('kind' in req) {
    const a = sizeScore(req);
    const b = sizeScore(cand);
    if (a !== undefined && b !== undefined) return clamp((b - a) / QUALITY_LOG2_SPAN, -1, 1);
    const ta = req.benchmark?.tokensPerSecond;
    const tb = cand.benchmark?.tokensPerSecond;
    if (ta && tb) return clamp(Math.log2(ta / tb) / QUALITY_LOG2_SPAN, -1, 1);
  }
  return 0;
}

/** Can the model take a request now (or after a short load)? */
export function isAvailable(m: ModelInfo): boolean {
  return (
    (m.availability === 'ready' || m.availability === 'loading') &&
    m.health.state !== 'open' &&
    !m.health.needsKey &&
    m.fit?.fits !== false
  );
}

/** A suggestion and whether the candidate meets the caller's hard requirements (capabilities, minContext). */
export interface RankedCandidate {
  suggestion: Suggestion;
  meetsRequirements: boolean;
  /** The live-health reasons alone ("0 % success in its last 5 calls"), for plan messages. */
  health: string[];
}

/**
 * Suggestions best first: available before unavailable, those meeting the hard requirements before
 * those that do not (whose score is also kept below every one that does), then by score.
 */
export function scoreCandidates(
  requested: ModelInfo | { id: string },
  candidates: ModelInfo[],
  req: Requirements = {},
  opts: LiveContext = {},
): Suggestion[] {
  return rankCandidates(requested, candidates, req, opts).map((r) => r.suggestion);
}

export function rankCandidates(
  requested: ModelInfo | { id: string },
  candidates: ModelInfo[],
  req: Requirements = {},
  opts: LiveContext = {},
): RankedCandidate[] {
  const reqCaps = ('kind' in requested ? requested.capabilities : []).filter((c) => !DESCRIPTIVE.includes(c));
  const out: RankedCandidate[] = [];
  for (const c of candidates) {
    if (c.id === requested.id) continue;
    const reasons: string[] = [];
    // Capability overlap with the requested model.
    let capability = 0.5;
    if (reqCaps.length > 0) {
      const missing = reqCaps.filter((x) => !c.capabilities.includes(x));
      capability = 1 - missing.length / reqCaps.length;
      reasons.push(
        missing.length === 0
          ? `can do everything ${requested.id} does (${reqCaps.join(', ')})`
          : `cannot do ${missing.join(', ')} like ${requested.id}`,
      );
    }
    // Explicit requirements: a missing capability or too small a context is a hard miss.
    const parts: number[] = [];
    let meetsRequirements = true;
    const needCaps = req.capabilities ?? [];
    if (needCaps.length > 0) {
      const lacking = needCaps.filter((x) => !c.capabilities.includes(x));
      parts.push(lacking.length === 0 ? 1 : 0.5 * (1 - lacking.length / needCaps.length));
      if (lacking.length > 0) {
        meetsRequirements = false;
        reasons.push(`lacks required ${lacking.join(', ')}`);
      }
    }
    if (req.minContext !== undefined) {
      if (c.contextLength === undefined) {
        parts.push(0.5);
        reasons.push(`context length unknown (need ${req.minContext})`);
      } else if (c.contextLength >= req.minContext) {
        parts.push(1);
      } else {
        parts.push(0);
        meetsRequirements = false;
        reasons.push(`context ${c.contextLength} is below the required ${req.minContext}`);
      }
    }
    const delta = qualityDelta(requested, c);
    const speed = speedRatio(requested, c);
    if (req.preferSpeed && speed !== undefined) parts.push(clamp(0.5 + Math.log2(speed) / 4, 0, 1));
    if (req.preferQuality) parts.push(0.5 + delta / 2);
    const requirements = parts.length === 0 ? 1 : parts.reduce((a, b) => a + b, 0) / parts.length;
    // Performance relative to the requested model: quality, and speed when the caller wants it.
    const performance = clamp(
      0.5 + delta / 2 + (req.preferSpeed && speed !== undefined ? Math.log2(speed) / 8 : 0),
      0,
      1,
    );
    if (Math.abs(delta) >= 0.05)
      reasons.push(
        delta > 0 ? `likely better quality (${fmtDelta(delta)})` : `likely lower quality (${fmtDelta(delta)})`,
      );
    if (speed !== undefined && Math.abs(Math.log2(speed)) >= 0.25)
      reasons.push(`${speed > 1 ? `${speed.toFixed(1)}× faster` : `${(1 / speed).toFixed(1)}× slower`} in benchmarks`);
    // Availability and fit.
    const available = isAvailable(c);
    let availability = AVAILABILITY_SCORE[c.availability];
    if (c.health.state === 'open' || c.health.needsKey) availability = 0;
    else if (c.health.state === 'degraded' || c.health.state === 'half_open') availability *= 0.6;
    if (!available) reasons.push(unavailableReason(c));
    const live = healthFactor(c, opts);
    reasons.push(...live.reasons);
    if (available && c.health.state === 'degraded' && live.reasons.length === 0)
      reasons.push(`recently unreliable (${Math.round(c.health.successRate * 100)} % success)`);
    const fit = c.kind === 'cloud' ? 1 : c.fit === undefined ? 0.6 : c.fit.fits ? 1 : 0;
    if (c.kind === 'local' && c.fit?.fits)
      reasons.push(`fits in memory (${fmtGb(c.fit.estimatedRamBytes + c.fit.estimatedVramBytes)})`);
    const base =
      WEIGHTS.capability * capability +
      WEIGHTS.requirements * requirements +
      WEIGHTS.performance * performance +
      WEIGHTS.availability * availability +
      WEIGHTS.fit * fit;
    // Live health multiplies: a model failing right now is no alternative, however well it matches.
    const s: Suggestion = {
      model: c.id,
      score: round3(base * live.factor),
      reasons,
      qualityDelta: round3(delta),
      available,
    };
    const wait = opts.waitMs?.(c.id);
    if (wait !== undefined) s.estimatedWaitMs = Math.round(wait);
    out.push({ suggestion: s, meetsRequirements, health: live.reasons });
  }
  // A hard miss scores below every candidate that meets the requirements.
  const floor = Math.min(...out.filter((r) => r.meetsRequirements).map((r) => r.suggestion.score));
  for (const r of out)
    if (!r.meetsRequirements && Number.isFinite(floor))
      r.suggestion.score = Math.max(0, Math.min(r.suggestion.score, round3(floor - 0.001)));
  // Unavailable models are never ranked above an available one, nor hard misses above a match.
  return out.sort(
    (a, b) =>
      Number(b.suggestion.available) - Number(a.suggestion.available) ||
      Number(b.meetsRequirements) - Number(a.meetsRequirements) ||
      b.suggestion.score - a.suggestion.score ||
      a.suggestion.model.localeCompare(b.suggestion.model),
  );
}

function speedRatio(req: ModelInfo | { id: string }, c: ModelInfo): number | undefined {
  const a = 'kind' in req ? req.benchmark?.tokensPerSecond : undefined;
  const b = c.benchmark?.tokensPerSecond;
  return a && b ? b / a : undefined;
}

function unavailableReason(m: ModelInfo): string {
  if (m.health.needsKey) return 'unavailable: needs an API key';
  if (m.health.state === 'open')
    return `unavailable: circuit open after ${m.health.consecutiveFailures} failures${m.health.cooldownUntil ? ` (until ${m.health.cooldownUntil})` : ''}`;
  if (m.fit?.fits === false)
    return `unavailable: does not fit in memory (needs ${fmtGb(m.fit.estimatedRamBytes + m.fit.estimatedVramBytes)})`;
  return `unavailable: ${m.availability.replace('_', ' ')}${m.reason ? ` (${m.reason})` : ''}`;
}

/** How long the daemon reuses a suggestion list: health moves with every call. */
export const SUGGESTION_TTL_MS = 2000;
/** Most (model, requirements) pairs a SuggestionCache keeps. */
export const SUGGESTION_CACHE_MAX = 256;

/** Suggestions per (model, requirements), dropped on `modelsChanged` and after ttlMs (queue waits move). */
export class SuggestionCache {
  private readonly entries = new Map<string, { at: number; value: Suggestion[] }>();
  constructor(private readonly opts: { clock?: Clock; ttlMs?: number; maxEntries?: number } = {}) {}

  static key(model: string, req?: Requirements): string {
    const r = req ?? {};
    return JSON.stringify([
      model,
      [...(r.capabilities ?? [])].sort(),
      r.minContext ?? null,
      !!r.preferSpeed,
      !!r.preferQuality,
    ]);
  }

  get(model: string, req: Requirements | undefined, compute: () => Suggestion[]): Suggestion[] {
    const key = SuggestionCache.key(model, req);
    const now = this.opts.clock?.now() ?? 0;
    const hit = this.entries.get(key);
    if (hit && (this.opts.ttlMs === undefined || now - hit.at < this.opts.ttlMs)) return hit.value;
    const value = compute();
    // Bounded: the oldest entry goes first (a Map iterates in insertion order).
    this.entries.delete(key);
    if (this.entries.size >= (this.opts.maxEntries ?? SUGGESTION_CACHE_MAX)) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { at: now, value });
    return value;
  }

  invalidate(): void {
    this.entries.clear();
  }

  size(): number {
    return this.entries.size;
  }
}

export function fmtGb(bytes: number): string {
  // Small models are MB-sized: "0.0 GB" would say nothing.
  if (bytes < 0.1 * 1024 ** 3) return `${Math.max(1, Math.round(bytes / 1024 ** 2))} MB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
}

function fmtDelta(d: number): string {
  return `${d > 0 ? '+' : ''}${d.toFixed(2)}`;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
