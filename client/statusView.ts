// The ONE function that renders daemon health into the status bar (rust-analyzer's pattern).
// Pure: takes everything it shows as input, returns text/tooltip/colour; statusBar.ts applies it.
import { humanDuration, humanWait, relativeTime } from '../protocol/humanTime';
import type { HealthFactor, HealthLevel, LastFallback, Status } from '../protocol/types';

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
  /** backstop.statusBar.compact: the icon and the score without the name. */
  compact?: boolean;
  /** The privacy guard applies to the active editor (backstop.privacy.*): a lock is shown. */
  localOnly?: boolean;
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
  const name = input.compact ? '' : ' Backstop';
  if (input.daemon !== 'running' || !input.status) {
    const labels: Record<DaemonState, [string, string]> = {
      starting: ['$(sync~spin)', 'starting the daemon…'],
      restarting: ['$(sync~spin)', 'the daemon stopped; restarting…'],
      stopped: ['$(circle-slash)', 'the daemon is stopped.'],
      failed: ['$(error)', 'the daemon is not running.'],
      running: ['$(sync~spin)', 'waiting for the first status…'],
    };
    const label = labels[input.daemon];
    const detail = input.daemonDetail ? `\n\n${md(input.daemonDetail)}` : '';
    return {
      // The name stays even in the compact form: an icon alone says nothing while the daemon is down.
      text: `${label[0]} Backstop`,
      tooltip: `**Backstop** — ${label[1]}${detail}\n\n[Restart daemon](command:backstop.restartDaemon) · [Logs](command:backstop.showLogs)`,
      background: input.daemon === 'failed' ? 'error' : undefined,
      ticking: false,
    };
  }
  const s = input.status;
  const now = input.nowMs;
  const untested = s.healthLevel === 'untested';
  const lines: string[] = [
    untested
      ? `**Backstop** — not tested yet: no request has gone through the chain (reachability ${s.healthScore} of 100)`
      : `**Backstop** — health ${s.healthScore} of 100 (${s.healthLevel})`,
  ];
  lines.push(
    s.activeModel
      ? `Answering: ${code(s.activeModel)}${s.activeAt ? ` (last answer ${md(ago(s.activeAt, now))})` : ''}`
      : 'Answering: no request answered yet',
  );
  lines.push(
    `Chain: ${s.chain.length ? s.chain.map(code).join(' → ') : '_empty — add models with "Backstop: Edit Fallback Chain"_'} (${md(s.strategy)})`,
  );
  const factors = factorLines(s.factors ?? []);
  if (factors.length) lines.push(`Score:\n\n${factors.join('\n')}`);
  if (s.topRecommendation) lines.push(`**Recommendation:** ${md(s.topRecommendation)}`);
  const fb = latestFallback(s.lastFallback, input.lastFallback);
  if (fb)
    lines.push(
      `Last fallback: ${code(fb.from)} → ${code(fb.to)} — ${md(fb.failure.replace(/_/g, ' '))}: ${md(fb.message)} (${md(ago(fb.at, now))})`,
    );
  lines.push(`Queue: ${s.queueLength} waiting · Models: ${md(modelCounts(s))}`);
  lines.push(...issue19Lines(s, input, now));

  let remainingMs: number | undefined;
  if (s.exhausted) {
    const until = s.exhaustedUntil ? Date.parse(s.exhaustedUntil) : NaN;
    remainingMs = Number.isFinite(until) ? Math.max(0, until - now) : undefined;
    lines.splice(
      1,
      0,
      `**Exhausted**: every model failed or is cooling down${remainingMs !== undefined ? `; retry in ${humanWait(remainingMs)} (at ${md(localClock(until))})` : ''}.`,
    );
  }
  lines.push(links);
  const tooltip = lines.join('\n\n');

  if (s.exhausted) {
    return {
      text: `$(watch)${name} ${remainingMs !== undefined ? clock(remainingMs) : 'exhausted'}`,
      tooltip,
      background: 'error',
      ticking: remainingMs !== undefined,
    };
  }
  const busy = input.busy > 0 || (s.inFlight ?? 0) > 0;
  const icon = busy ? '$(loading~spin)' : untested ? '$(circle-large-outline)' : '$(pulse)';
  const lock = input.localOnly ? '$(lock) ' : '';
  if (s.offline?.network)
    return {
      text: `${lock}$(debug-disconnect)${name} offline — local models`,
      tooltip,
      background: 'warning',
      ticking: false,
    };
  return {
    text: `${lock}${icon}${name} ${untested ? 'untested' : s.healthScore}`,
    tooltip,
    background: bandBackground(s.healthLevel),
    ticking: false,
  };
}

/** Tooltip lines of issue 19: the privacy guard, offline mode, each purpose's chain and budget. */
export function issue19Lines(s: Status, input: Pick<StatusViewInput, 'localOnly'>, now: number): string[] {
  const out: string[] = [];
  if (input.localOnly)
    out.push('$(lock) **Local only**: requests from this editor never reach a cloud model (`backstop.privacy`).');
  if (s.offline) {
    const next = s.offline.nextProbeAt
      ? `; next check ${md(relativeTime(Date.parse(s.offline.nextProbeAt), now))}`
      : '';
    out.push(
      s.offline.network
        ? `**Offline — local models**: ${md(s.offline.reason)}${next}.`
        : `Offline hosts: ${s.offline.hosts.map(code).join(', ')} — ${md(s.offline.reason)}${next}.`,
    );
  }
  const purposes = Object.entries(s.purposes ?? {}).filter(([, p]) => p.budgetMs !== null || p.requests > 0);
  if (purposes.length) {
    const line = ([name, p]: (typeof purposes)[number]) => {
      const budget = p.budgetMs === null ? 'no budget' : `budget ${humanDuration(p.budgetMs)}`;
      const held = p.withinBudget === undefined ? '' : `, ${Math.round(100 * p.withinBudget)} % within`;
      const p95 = p.p95FirstTokenMs === undefined ? '' : `, p95 first token ${humanDuration(p.p95FirstTokenMs)}`;
      return `- ${md(name)}: ${p.chain.map(code).join(' → ') || '_main chain_'} — ${budget}${held}${p95}`;
    };
    out.push(`Purposes:\n\n${purposes.map(line).join('\n')}`);
  }
  return out;
}

/** The background of a score band: none while it is good (or not measured yet), then warning, then error. */
export function bandBackground(level: HealthLevel): StatusView['background'] {
  return level === 'poor' ? 'error' : level === 'fair' ? 'warning' : undefined;
}

/** Each factor in words: its name, its share of the score in points, and what it saw. */
export function factorLines(factors: readonly HealthFactor[]): string[] {
  const total = factors.reduce((a, f) => a + f.weight, 0);
  if (total <= 0) return [];
  return factors.map((f) => {
    const max = (100 * f.weight) / total;
    const got = (f.score * f.weight) / total;
    return `- ${FACTOR_NAMES[f.name] ?? md(f.name)}: ${Math.round(got)} of ${Math.round(max)} points — ${md(f.detail)}`;
  });
}

const FACTOR_NAMES: Record<string, string> = {
  chainAvailability: 'Chain models answering',
  circuits: 'Circuit breakers',
  successRate: 'Recent requests',
  memoryHeadroom: 'Memory headroom',
  primaryFits: 'Primary fits in memory',
  latency: 'Speed vs benchmark',
};

function modelCounts(s: Status): string {
  const parts = [`${s.models.ready} callable`];
  if (s.models.untested) parts.push(`${s.models.untested} of them untested`);
  if (s.models.failing) parts.push(`${s.models.failing} failing`);
  return `${parts.join(', ')} (${s.models.total} found)`;
}

/** "2 min ago (14:03:12)"; an unparseable time is shown as the text it is. */
function ago(iso: string, now: number): string {
  const at = Date.parse(iso);
  if (!Number.isFinite(at)) return iso;
  return `${relativeTime(at, now)}, ${localClock(at)}`;
}

function localClock(ms: number): string {
  return new Date(ms).toLocaleTimeString();
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

/** Escape Markdown so daemon-provided text cannot inject links or formatting. */
export function md(text: string): string {
  // A URL would be auto-linked with its escapes inside it ("…:9\\)"): it goes in a code span instead.
  return text
    .split(URL_IN_TEXT)
    .map((part, i) => (i % 2 === 1 ? code(part) : part.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, (c) => `\\${c}`)))
    .join('');
}

/** http(s) URLs, captured (so split keeps them at the odd indexes); a closing bracket is not part of one. */
const URL_IN_TEXT = /(https?:\/\/[^\s)\]]+)/;

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}
