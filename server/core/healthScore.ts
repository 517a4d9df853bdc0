// The system health score 0–100: weighted factors with details, a level, and recommendations a user
// can act on. Pure: the caller passes the models (with health, fit, benchmark) and the system snapshot.
import { humanDuration, relativeIso } from '../../protocol/humanTime';
import type { HealthFactor, HealthLevel, ModelInfo, SystemSnapshot } from '../../protocol/types';
import { fmtGb, isAvailable } from './scoring';

export interface HealthInputs {
  chain: string[];
  models: ModelInfo[];
  system?: SystemSnapshot;
  /** Success rate of recent requests (0..1) across the chain, when the caller tracks it. */
  recentSuccessRate?: number;
  /** Recent typical latency per model (ms), compared with its benchmark. */
  recentLatencyMs?: Record<string, number>;
  /** Memory estimate for a context size (GgufInsights, by the caller): makes "use ctx N" verified. */
  estimateFit?: (
    model: string,
    opts: { contextSize: number; gpuLayers: number },
  ) => { ramBytes: number; vramBytes: number; fits: boolean } | undefined;
  /** Now (ms), for "retried in 4 min" in recommendations; without it no time is named. */
  now?: number;
}

/** Weights of the factors (sum 1); a factor without data is left out and the rest renormalised.
 *  - chainAvailability 0.30: whether anything can answer at all is what the user feels first.
 *  - circuits 0.20: open or degraded circuits mean failovers and slower answers right now.
 *  - successRate 0.20: what actually happened to recent requests, whatever the states say.
 *  - memoryHeadroom 0.15: a local model without headroom swaps or fails to load under load.
 *  - primaryFits 0.10: the primary local model not fitting forces a fallback on every request.
 *  - latency 0.05: slower than benchmarked is a warning (a busy machine), not a failure. */
export const HEALTH_WEIGHTS = {
  chainAvailability: 0.3,
  circuits: 0.2,
  successRate: 0.2,
  memoryHeadroom: 0.15,
  primaryFits: 0.1,
  latency: 0.05,
} as const;

export const LEVEL_THRESHOLDS = { excellent: 80, good: 60, fair: 40 } as const;
/** Free memory of 1.5× what the largest local model needs leaves room for the KV cache and the OS. */
export const COMFORTABLE_HEADROOM_RATIO = 1.5;
/** Latency up to this multiple of the benchmark is normal variation (longer prompts, longer answers). */
export const LATENCY_TOLERANCE_RATIO = 1.5;
/** Below this recent success rate the user is told to add or fix fallbacks. */
export const LOW_SUCCESS_RATE = 0.8;
const MIN_CONTEXT = 512;
const CIRCUIT_SCORE = { healthy: 100, degraded: 60, half_open: 40, open: 0 } as const;
/**
 * How much a chain model adds to chainAvailability. Reachable is not the same as answering: a model
 * that answered last time counts fully; one never tried yet counts for less (its provider answered a
 * cheap check, but no request proved it); one whose last call failed (its cooldown over, so it looks
 * callable again) counts for little; one that cannot be called counts nothing.
 */
export const STANDING_CREDIT = { answering: 1, untested: 0.75, failing: 0.25, unavailable: 0 } as const;
export type Standing = keyof typeof STANDING_CREDIT;

/** Whether no request has been sent to this model yet (since its health was last reset). */
export function untested(m: ModelInfo): boolean {
  return m.health.successCount + m.health.failureCount === 0 && m.health.lastFailure === undefined;
}

export function standingOf(m: ModelInfo | undefined): Standing {
  if (!m || !isAvailable(m)) return 'unavailable';
  if (untested(m)) return 'untested';
  return m.health.consecutiveFailures > 0 || m.health.state === 'half_open' ? 'failing' : 'answering';
}

export function levelOf(score: number): HealthLevel {
  if (score >= LEVEL_THRESHOLDS.excellent) return 'excellent';
  if (score >= LEVEL_THRESHOLDS.good) return 'good';
  if (score >= LEVEL_THRESHOLDS.fair) return 'fair';
  return 'poor';
}

export function computeHealth(inputs: HealthInputs): {
  score: number;
  level: HealthLevel;
  factors: HealthFactor[];
  recommendations: string[];
} {
  const byId = new Map(inputs.models.map((m) => [m.id, m]));
  const chain = inputs.chain.map((id) => ({ id, m: byId.get(id) }));
  const primary = chain[0];
  const factors: HealthFactor[] = [];
  const recs: string[] = [];
  const add = (name: keyof typeof HEALTH_WEIGHTS, score: number, detail: string) =>
    factors.push({ name, score: Math.round(clamp(score, 0, 100)), weight: HEALTH_WEIGHTS[name], detail });

  // Chain availability, the primary counting double: it is what every request tries first.
  if (chain.length === 0) {
    add('chainAvailability', 0, 'no fallback chain is configured');
    recs.push('Configure a chain: add at least one ready model with "Backstop: Set Chain".');
  } else {
    const standing = chain.map((c) => standingOf(c.m));
    const w = standing.map((_, i) => (i === 0 ? 2 : 1));
    const score =
      (100 * standing.reduce((s, st, i) => s + STANDING_CREDIT[st] * (w[i] ?? 1), 0)) / w.reduce((a, b) => a + b, 0);
    add('chainAvailability', score, standingDetail(chain, standing));
  }

  const known = chain.flatMap((c) => (c.m ? [c.m] : []));
  // A circuit nobody has called is trivially closed: it says nothing, so it is left out.
  const tried = known.filter((m) => !untested(m));
  if (tried.length > 0) {
    const avg = tried.reduce((s, m) => s + CIRCUIT_SCORE[m.health.state], 0) / tried.length;
    const bad = tried
      .filter((m) => m.health.state !== 'healthy')
      .map((m) => `${m.id} ${m.health.state.replace('_', '-')}`);
    add('circuits', avg, bad.length === 0 ? 'all circuits healthy' : bad.join(', '));
  }

  const rate = inputs.recentSuccessRate ?? pooledSuccessRate(known);
  if (rate !== undefined) add('successRate', rate * 100, `${Math.round(rate * 100)} % of recent requests succeeded`);

  // Memory headroom: the largest local model of the chain against available RAM (+ free VRAM).
  const locals = known.filter((m) => m.kind === 'local' && m.fit);
  if (inputs.system && locals.length > 0) {
    const free =
      inputs.system.memory.availableBytes + inputs.system.gpus.reduce((s, g) => s + (g.vramFreeBytes ?? 0), 0);
    const biggest = locals.reduce((a, b) => (need(b) > need(a) ? b : a));
    const ratio = free / Math.max(1, need(biggest));
    const score =
      ratio >= COMFORTABLE_HEADROOM_RATIO
        ? 100
        : ratio >= 1
          ? 60 + (40 * (ratio - 1)) / (COMFORTABLE_HEADROOM_RATIO - 1)
          : 50 * ratio;
    add(
      'memoryHeadroom',
      score,
      `${fmtGb(free)} free for ${biggest.id}, which needs ${fmtGb(need(biggest))} (${ratio >= 100 ? '>100' : ratio.toFixed(1)}× headroom)`,
    );
  }

  if (primary?.m?.kind === 'local' && primary.m.fit) {
    const fit = primary.m.fit;
    add(
      'primaryFits',
      fit.fits ? 100 : 0,
      fit.fits ? `${primary.id} fits (${fit.gpuLayers} GPU layers)` : `${primary.id} does not fit in memory`,
    );
  }

  const slow = latencyFactor(known, inputs.recentLatencyMs);
  if (slow) add('latency', slow.score, slow.detail);

  recs.push(...recommendations(inputs, chain, known, rate));
  const totalW = factors.reduce((s, f) => s + f.weight, 0);
  let score = totalW > 0 ? Math.round(factors.reduce((s, f) => s + f.score * f.weight, 0) / totalW) : 0;
  // Nothing in the chain can answer: that is poor, however healthy the rest looks.
  if (!known.some(isAvailable)) score = Math.min(score, LEVEL_THRESHOLDS.fair - 1);
  // The primary down or failing: every request falls back. Degraded (fair) at best, so the item says so.
  const first = standingOf(primary?.m);
  if (chain.length > 0 && (first === 'unavailable' || first === 'failing'))
    score = Math.min(score, LEVEL_THRESHOLDS.good - 1);
  // Every model reachable but none tried: no request has shown whether the chain answers, so the
  // level says so instead of "excellent".
  const allUntested = chain.length > 0 && chain.every((c) => c.m && isAvailable(c.m) && untested(c.m));
  if (allUntested)
    recs.unshift('No request has gone through the chain yet: run "Backstop: Run Failover Drill" to test every model.');
  return { score, level: allUntested ? 'untested' : levelOf(score), factors, recommendations: dedupe(recs) };
}

/** "1 answering, 1 untested, 1 failing (primary cloud/a: its last call failed)". */
function standingDetail(chain: { id: string }[], standing: Standing[]): string {
  const counts = new Map<Standing, number>();
  for (const st of standing) counts.set(st, (counts.get(st) ?? 0) + 1);
  const words: Record<Standing, string> = {
    answering: 'answering',
    untested: 'untested',
    failing: 'failing',
    unavailable: 'unavailable',
  };
  const parts = (['answering', 'untested', 'failing', 'unavailable'] as const)
    .filter((st) => counts.has(st))
    .map((st) => `${counts.get(st)} ${words[st]}`);
  const p = standing[0];
  const why = p === 'failing' ? 'its last call failed' : p === 'unavailable' ? 'it cannot be called now' : undefined;
  return `${chain.length} in the chain: ${parts.join(', ')}${why ? ` (primary ${chain[0]?.id}: ${why})` : ''}`;
}

function recommendations(
  inputs: HealthInputs,
  chain: { id: string; m: ModelInfo | undefined }[],
  known: ModelInfo[],
  rate: number | undefined,
): string[] {
  const out: string[] = [];
  chain.forEach(({ id, m }, i) => {
    const role = i === 0 ? 'The primary model ' : '';
    if (!m) {
      out.push(
        `${role}${id} is not a known model: check the id in the chain ("<provider>/<model>") or run "Backstop: Discover Models".`,
      );
      return;
    }
    if (m.kind === 'local' && m.fit && !m.fit.fits) out.push(fitAdvice(m, inputs));
    else if (!isAvailable(m)) out.push(`${role}${id} ${unavailableAdvice(m, inputs.now)}`);
  });
  if (chain.length === 1)
    out.push(`Only ${chain[0]?.id} is in the chain: add a second model so a failure has somewhere to go.`);
  const localReady = inputs.models.filter((m) => m.kind === 'local' && isAvailable(m) && !inputs.chain.includes(m.id));
  if (chain.length > 0 && !known.some((m) => m.kind === 'local') && localReady[0]) {
    out.push(`${localReady[0].id} is ready locally: add it to the chain so completions keep working offline.`);
  }
  if (rate !== undefined && rate < LOW_SUCCESS_RATE) {
    out.push(
      `Only ${Math.round(rate * 100)} % of recent requests succeeded: check the failing models below the status bar, or add a reliable fallback.`,
    );
  }
  for (const m of known) {
    const lat = inputs.recentLatencyMs?.[m.id] ?? m.health.p50LatencyMs ?? undefined;
    const bench = m.benchmark?.totalMs;
    if (lat && bench && lat > bench * LATENCY_TOLERANCE_RATIO * 2) {
      const load = inputs.system ? ` (CPU load ${Math.round(inputs.system.cpu.loadPercent)} %)` : '';
      out.push(
        `${m.id} answers ${(lat / bench).toFixed(1)}× slower than its benchmark (${humanDuration(lat)} vs ${humanDuration(bench)}): the machine may be busy${load}; close heavy apps or re-run the benchmark.`,
      );
    }
  }
  return out;
}

/** "local/qwen-7b needs 6.1 GB at ctx 8192 but 3.2 GB is free: use ctx 4096 or a Q4_K_M file". */
function fitAdvice(m: ModelInfo, inputs: HealthInputs): string {
  const fit = m.fit;
  const ctx = fit?.contextSize ?? m.contextLength;
  const free = inputs.system
    ? inputs.system.memory.availableBytes + inputs.system.gpus.reduce((s, g) => s + (g.vramFreeBytes ?? 0), 0)
    : undefined;
  const head = `${m.id} needs ${fmtGb(need(m))}${ctx ? ` at ctx ${ctx}` : ''}${free !== undefined ? ` but ${fmtGb(free)} is free` : ''}`;
  const fixes: string[] = [];
  if (ctx) {
    let fitting: number | undefined;
    for (let c = Math.floor(ctx / 2); c >= MIN_CONTEXT; c = Math.floor(c / 2)) {
      const est = inputs.estimateFit?.(m.id, { contextSize: c, gpuLayers: fit?.gpuLayers ?? 0 });
      if (est?.fits) {
        fitting = c;
        break;
      }
      if (!inputs.estimateFit) break;
    }
    if (fitting) fixes.push(`use ctx ${fitting}`);
    else if (!inputs.estimateFit && ctx / 2 >= MIN_CONTEXT) fixes.push(`try ctx ${Math.floor(ctx / 2)}`);
  }
  const bits = /Q([2-3])_|IQ/i.test(m.quantization ?? '') ? undefined : 'a Q4_K_M file';
  fixes.push(bits ?? 'a smaller model');
  return `${head}: ${fixes.join(' or ')}.`;
}

function unavailableAdvice(m: ModelInfo, now: number | undefined): string {
  if (m.health.needsKey) return `has no API key: set one with "Backstop: Set API Key".`;
  if (m.health.state === 'open') {
    const why = m.health.lastFailureMessage ?? m.health.lastFailure ?? 'repeated failures';
    const when = now === undefined ? undefined : relativeIso(m.health.cooldownUntil, now);
    return `is skipped after ${m.health.consecutiveFailures} consecutive failures (${why})${when ? `, tried again ${when}` : ''}; fallbacks serve meanwhile.`;
  }
  switch (m.availability) {
    case 'missing':
      return `is missing${m.reason ? ` (${m.reason})` : ''}: download it, or remove it from the chain.`;
    case 'unreachable':
      return `is unreachable${m.reason ? ` (${m.reason})` : ''}: check that the provider is running and the network is up.`;
    case 'incompatible':
      return `cannot be loaded${m.reason ? ` (${m.reason})` : ''}: replace the file with a compatible GGUF.`;
    case 'cooling_down':
      return 'is cooling down after failures: it returns automatically; fallbacks serve meanwhile.';
    default:
      return `is not available (${m.availability}).`;
  }
}

function latencyFactor(
  models: ModelInfo[],
  recent: Record<string, number> | undefined,
): { score: number; detail: string } | undefined {
  const rows = models.flatMap((m) => {
    const lat = recent?.[m.id] ?? m.health.p50LatencyMs ?? undefined;
    const bench = m.benchmark?.totalMs;
    return lat && bench ? [{ id: m.id, ratio: lat / bench }] : [];
  });
  if (rows.length === 0) return undefined;
  const worst = rows.reduce((a, b) => (b.ratio > a.ratio ? b : a));
  const score = rows.reduce((s, r) => s + 100 * Math.min(1, LATENCY_TOLERANCE_RATIO / r.ratio), 0) / rows.length;
  return { score, detail: `slowest vs benchmark: ${worst.id} at ${worst.ratio.toFixed(1)}×` };
}

function pooledSuccessRate(models: ModelInfo[]): number | undefined {
  const ok = models.reduce((s, m) => s + m.health.successCount, 0);
  const total = ok + models.reduce((s, m) => s + m.health.failureCount, 0);
  return total > 0 ? ok / total : undefined;
}

function need(m: ModelInfo): number {
  return (m.fit?.estimatedRamBytes ?? 0) + (m.fit?.estimatedVramBytes ?? 0);
}

function dedupe(xs: string[]): string[] {
  return [...new Set(xs)];
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}
