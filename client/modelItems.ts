// How a model is described in pickers: availability, health, fit and speed in one line. Pure.
import type { ModelInfo } from '../protocol/types';

const AVAILABILITY_ICON: Record<ModelInfo['availability'], string> = {
  ready: '$(pass-filled)',
  loading: '$(loading~spin)',
  missing: '$(question)',
  unreachable: '$(debug-disconnect)',
  incompatible: '$(error)',
  cooling_down: '$(watch)',
};

export interface ModelLine {
  label: string;
  description: string;
  detail?: string;
}

export function describeModel(m: ModelInfo, chain: readonly string[]): ModelLine {
  const parts: string[] = [m.availability.replace('_', ' ')];
  if (m.health.state !== 'healthy') parts.push(`circuit ${m.health.state.replace('_', '-')}`);
  else if (m.health.successCount + m.health.failureCount > 0)
    parts.push(`${Math.round(m.health.successRate * 100)}% ok`);
  else parts.push('untested');
  if (m.fit)
    parts.push(
      m.fit.fits ? (m.fit.gpuLayers > 0 ? `fits (${m.fit.gpuLayers} GPU layers)` : 'fits in RAM') : 'does not fit',
    );
  const tps = m.benchmark?.ok ? m.benchmark.tokensPerSecond : undefined;
  if (tps !== undefined) parts.push(`${tps.toFixed(tps < 10 ? 1 : 0)} tok/s`);
  const pos = chain.indexOf(m.id);
  if (pos === 0) parts.push('primary');
  else if (pos > 0) parts.push(`fallback #${pos}`);
  const detailParts = [
    m.kind,
    m.parameters,
    m.quantization,
    m.contextLength ? `ctx ${m.contextLength}` : undefined,
    m.reason,
  ].filter(Boolean);
  return {
    label: `${AVAILABILITY_ICON[m.availability]} ${m.id}`,
    description: parts.join(' · '),
    ...(detailParts.length ? { detail: detailParts.join(' · ') } : {}),
  };
}

/**
 * A chain entry's health in a few words, for the chain editor: answering, failing (and why), untested,
 * or why it cannot be called.
 */
export function chainEntryHealth(m: ModelInfo | undefined): { icon: string; text: string; detail?: string } {
  if (!m) return { icon: 'question', text: 'not a known model', detail: 'No configured provider lists this model.' };
  const h = m.health;
  const calls = h.successCount + h.failureCount;
  if (m.availability !== 'ready' && m.availability !== 'loading')
    return {
      icon: m.availability === 'cooling_down' ? 'watch' : 'error',
      text: m.availability.replace('_', ' '),
      ...(m.reason ? { detail: m.reason } : {}),
    };
  if (h.needsKey)
    return {
      icon: 'key',
      text: 'API key missing or rejected',
      ...(h.lastFailureMessage ? { detail: h.lastFailureMessage } : {}),
    };
  if (calls === 0 && h.lastFailure === undefined) return { icon: 'circle-large-outline', text: 'untested' };
  const rate = `${Math.round(h.successRate * 100)}% of ${calls} calls ok`;
  if (h.consecutiveFailures > 0 || h.state !== 'healthy') {
    const why = h.lastFailureMessage ?? h.lastFailure?.replace(/_/g, ' ');
    return { icon: 'warning', text: `failing · ${rate}`, ...(why ? { detail: `Last failure: ${why}` } : {}) };
  }
  return { icon: 'pass-filled', text: `answering · ${rate}` };
}

/** Ready models first, then by chain position, then by name. */
export function sortModels(models: readonly ModelInfo[], chain: readonly string[]): ModelInfo[] {
  const rank = (m: ModelInfo): number =>
    m.availability === 'ready' ? 0 : m.availability === 'loading' || m.availability === 'cooling_down' ? 1 : 2;
  const pos = (m: ModelInfo): number => {
    const i = chain.indexOf(m.id);
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  return [...models].sort((a, b) => rank(a) - rank(b) || pos(a) - pos(b) || a.id.localeCompare(b.id));
}

/** Markdown-free plain trace of a request's attempts, one line each (logs, drill report). */
export function formatAttempts(
  attempts: readonly {
    model: string;
    outcome: string;
    failure?: string;
    message?: string;
    latencyMs: number;
    retry: number;
  }[],
): string[] {
  return attempts.map(
    (a, i) =>
      `${i + 1}. ${a.model}${a.retry ? ` (retry ${a.retry})` : ''}: ${a.outcome}${a.failure ? ` [${a.failure}]` : ''} in ${Math.round(a.latencyMs)} ms${a.message ? ` — ${a.message}` : ''}`,
  );
}
