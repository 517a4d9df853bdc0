// Human-readable rendering for the CLI.
import type { Attempt, Status } from '../../protocol/types';

export function fmtBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(0)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KB`;
  return `${n} B`;
}

export function formatStatus(s: Status): string {
  const lines = [
    `Backstop ${s.version} — health ${s.healthScore}/100 (${s.healthLevel})`,
    `chain (${s.strategy}): ${s.chain.join(' → ') || '(empty: set "chain" in the config)'}`,
    `active model: ${s.activeModel ?? 'none'}   models ready: ${s.models.ready}/${s.models.total}   queue: ${s.queueLength}`,
  ];
  if (s.exhausted)
    lines.push(
      `EXHAUSTED: every model in the chain is cooling down${s.exhaustedUntil ? ` until ${s.exhaustedUntil}` : ''}`,
    );
  if (s.lastFallback)
    lines.push(
      `last fallback: ${s.lastFallback.from} → ${s.lastFallback.to} (${s.lastFallback.failure}: ${s.lastFallback.message})`,
    );
  if (s.topRecommendation) lines.push(`recommendation: ${s.topRecommendation}`);
  return lines.join('\n');
}

export function formatAttempts(attempts: Attempt[]): string {
  return attempts
    .map(
      (a, i) =>
        `  ${String(i + 1).padStart(2)}. ${a.model.padEnd(28)} ${a.outcome.padEnd(9)} ${a.failure ? a.failure.padEnd(18) : ''.padEnd(18)} ${String(a.latencyMs).padStart(6)} ms${a.retry ? ` retry ${a.retry}` : ''}${a.message ? `  ${a.message.slice(0, 100)}` : ''}`,
    )
    .join('\n');
}

/**
 * Model text for a terminal: control characters (other than newline and tab) are shown as "·" so a
 * model cannot move the cursor, change colours or retitle the terminal with escape sequences.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '·');
}
