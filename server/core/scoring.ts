// Compatibility score in 0..1 between a requested model and each candidate, and the ranked
// suggestions of `backstop/suggest`. Pure: everything it knows comes in through ModelInfo.
import type { Capability, ModelInfo, Requirements, Suggestion } from '../../protocol/types';
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

export function scoreCandidates(
  requested: ModelInfo | { id: string },
  candidates: ModelInfo[],
  req: Requirements = {},
  opts: { waitMs?: (model: string) => number | undefined } = {},
): Suggestion[] {
  const reqCaps = ('kind' in requested ? requested.capabilities : []).filter((c) => !DESCRIPTIVE.includes(c));
  const out: Suggestion[] = [];
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
    // Explicit requirements.
    const parts: number[] = [];
    const needCaps = req.capabilities ?? [];
    if (needCaps.length > 0) {
      const lacking = needCaps.filter((x) => !c.capabilities.includes(x));
      parts.push(lacking.length === 0 ? 1 : 0.5 * (1 - lacking.length / needCaps.length));
      if (lacking.length > 0) reasons.push(`lacks required ${lacking.join(', ')}`);
    }
    if (req.minContext !== undefined) {
      if (c.contextLength === undefined) {
        parts.push(0.5);
        reasons.push(`context length unknown (need ${req.minContext})`);
      } else if (c.contextLength >= req.minContext) {
        parts.push(1);
      } else {
        parts.push(0);
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
    else if (c.health.state === 'degraded')
      reasons.push(`recently unreliable (${Math.round(c.health.successRate * 100)} % success)`);
    const fit = c.kind === 'cloud' ? 1 : c.fit === undefined ? 0.6 : c.fit.fits ? 1 : 0;
    if (c.kind === 'local' && c.fit?.fits)
      reasons.push(`fits in memory (${fmtGb(c.fit.estimatedRamBytes + c.fit.estimatedVramBytes)})`);
    const score =
      WEIGHTS.capability * capability +
      WEIGHTS.requirements * requirements +
      WEIGHTS.performance * performance +
      WEIGHTS.availability * availability +
      WEIGHTS.fit * fit;
    const s: Suggestion = { model: c.id, score: round3(score), reasons, qualityDelta: round3(delta), available };
    const wait = opts.waitMs?.(c.id);
    if (wait !== undefined) s.estimatedWaitMs = Math.round(wait);
    out.push(s);
  }
  // Unavailable models are never ranked above an available one, whatever their score.
  return out.sort(
    (a, b) => Number(b.available) - Number(a.available) || b.score - a.score || a.model.localeCompare(b.model),
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
