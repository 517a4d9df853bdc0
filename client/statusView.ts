// The ONE function that renders daemon health into the status bar (rust-analyzer's pattern).
// Pure: takes everything it shows as input, returns text/tooltip/colour; statusBar.ts applies it.
import type { LastFallback, Status } from '../protocol/types';
import { formatDuration } from './rpcErrors';

export type DaemonState = 'starting' | 'running' | 'restarting' | 'stopped' | 'failed';

export interface StatusViewInput {
  daemon: DaemonState;
  /** Why the daemon is not running, or when it restarts. */
  daemonDetail?: string;
  status?: Status;
  /** Requests this window has running (the daemon's inFlight counts every client). */
  busy: number;
  lastFallback?: LastFallback;
  nowMs: number;
}

export interface StatusView {
  text: string;
  /** Markdown. */
  tooltip: string;
  background: 'warning' | 'error' | undefined;
  /** Whether a countdown is on screen (the caller ticks once a second only then). */
  ticking: boolean;
}

export const SHOW_DIAGNOSTICS_COMMAND = 'backstop.showDiagnostics';

export function renderStatus(input: StatusViewInput): StatusView {
  const links =
    '[Diagnostics](command:backstop.showDiagnostics) · [Switch primary](command:backstop.switchPrimary) · [Logs](command:backstop.showLogs)';
  if (input.daemon !== 'running' || !input.status) {
    const labels: Record<DaemonState, [string, string]> = {
      starting: ['$(sync~spin) Backstop', 'starting the daemon…'],
      restarting: ['$(sync~spin) Backstop', 'the daemon stopped; restarting…'],
      stopped: ['$(circle-slash) Backstop', 'the daemon is stopped.'],
      failed: ['$(error) Backstop', 'the daemon is not running.'],
      running: ['$(sync~spin) Backstop', 'waiting for the first status…'],
    };
    const label = labels[input.daemon];
    const detail = input.daemonDetail ? `\n\n${md(input.daemonDetail)}` : '';
    return {
      text: label[0],
      tooltip: `**Backstop** — ${label[1]}${detail}\n\n[Restart daemon](command:backstop.restartDaemon) · [Logs](command:backstop.showLogs)`,
      background: input.daemon === 'failed' ? 'error' : undefined,
      ticking: false,
    };
  }
  const s = input.status;
  const lines: string[] = [`**Backstop** — health ${s.healthScore} (${s.healthLevel})`];
  lines.push(`Active model: ${code(s.activeModel ?? 'none')}`);
  lines.push(
    `Chain: ${s.chain.length ? s.chain.map(code).join(' → ') : '_empty — add models with "Backstop: Edit Fallback Chain"_'} (${md(s.strategy)})`,
  );
  const fb = latestFallback(s.lastFallback, input.lastFallback);
  if (fb)
    lines.push(
      `Last fallback: ${code(fb.from)} → ${code(fb.to)} — ${md(fb.failure)}: ${md(fb.message)}${fb.at ? ` (${md(timeOf(fb.at))})` : ''}`,
    );
  lines.push(`Queue: ${s.queueLength} waiting · Models: ${s.models.ready}/${s.models.total} ready`);
  if (s.topRecommendation) lines.push(`Recommendation: ${md(s.topRecommendation)}`);

  let remainingMs: number | undefined;
  if (s.exhausted) {
    const until = s.exhaustedUntil ? Date.parse(s.exhaustedUntil) : NaN;
    remainingMs = Number.isFinite(until) ? Math.max(0, until - input.nowMs) : undefined;
    lines.splice(
      1,
      0,
      `**Exhausted**: every model failed or is cooling down${remainingMs !== undefined ? `; retry in ${formatDuration(remainingMs)}` : ''}.`,
    );
  }
  lines.push(links);
  const tooltip = lines.join('\n\n');

  if (s.exhausted) {
    return {
      text: `$(watch) ${remainingMs !== undefined ? clock(remainingMs) : 'exhausted'}`,
      tooltip,
      background: 'error',
      ticking: remainingMs !== undefined,
    };
  }
  const busy = input.busy > 0 || (s.inFlight ?? 0) > 0;
  const icon = busy ? '$(loading~spin)' : '$(pulse)';
  const background = s.healthLevel === 'poor' ? 'error' : s.healthLevel === 'fair' ? 'warning' : undefined;
  return { text: `${icon} ${s.healthScore}`, tooltip, background, ticking: false };
}

function latestFallback(a: LastFallback | undefined, b: LastFallback | undefined): LastFallback | undefined {
  if (!a) return b;
  if (!b) return a;
  return Date.parse(b.at) > Date.parse(a.at) ? b : a;
}

/** m:ss for the countdown. */
export function clock(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function timeOf(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString();
}

/** Escape Markdown so daemon-provided text cannot inject links or formatting. */
export function md(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, (c) => `\\${c}`);
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}
