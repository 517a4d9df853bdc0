// The diagnostics sections. Each renders from the view state into its own <section>; buttons post
// typed messages. Controls are @vscode-elements/elements components (VS Code's own look, keyboard
// accessible); every colour is a VS Code theme variable (main.css).
import type {
  BenchmarkProgress,
  BenchmarkResult,
  HealthFactor,
  HistoryEvent,
  ModelInfo,
  MonitorSample,
} from '../protocol/types';
import { barChart, lineChart } from './charts';
import { purposesBlock, spendBlock } from './spend';
import { ago, bytes, h, modelId, ms, time, words } from './dom';
import {
  MONITOR_DURATION_LIMITS_S,
  SETTINGS_LIMITS,
  type EventEntry,
  type FromWebview,
  type SettingsValues,
  type Snapshot,
} from '../protocol/webview';

export const DEFAULT_MONITOR_DURATION_S = 30;

export interface ViewState {
  snapshot?: Snapshot;
  /** What happened in this view (chain saved, benchmark done, daemon restarted), newest first. */
  events: EventEntry[];
  benchmarks: Record<string, BenchmarkResult>;
  benchmarkBusy: boolean;
  benchmarkProgress?: BenchmarkProgress;
  monitorSamples: MonitorSample[];
  monitorRunning: boolean;
  /** The duration the user chose (kept across re-renders and reloads). */
  monitorDurationS: number;
  chainDraft?: string[];
  /** The settings form has edits not saved yet: updates must not re-render (and lose) them. */
  settingsDirty: boolean;
  /** The last save/reset outcome, shown under the form. */
  settingsNote?: string;
}

export interface Actions {
  post(m: FromWebview): void;
  setDraft(chain: string[] | undefined): void;
  /** The user edited a settings input. */
  settingsEdited(): void;
  setMonitorDuration(s: number): void;
}

type Maybe = HTMLElement | SVGElement | null | undefined | false;

function unavailable(st: ViewState, key: keyof Snapshot['unavailable']): HTMLElement | undefined {
  const why = st.snapshot?.unavailable[key];
  return why ? h('p', { class: 'muted' }, why) : undefined;
}

function button(
  label: string,
  attrs: { key: string; onclick: () => void; secondary?: boolean; disabled?: boolean; icon?: string; aria?: string },
): HTMLElement {
  return h(
    'vscode-button',
    {
      'data-key': attrs.key,
      secondary: attrs.secondary,
      disabled: attrs.disabled,
      icon: attrs.icon,
      'aria-label': attrs.aria,
      title: attrs.aria,
      onclick: (e: Event) => {
        if ((e.currentTarget as HTMLElement).hasAttribute('disabled')) return;
        attrs.onclick();
      },
    },
    label,
  );
}

/** A button that shows only a codicon (its name for screen readers in aria-label and the tooltip). */
function iconButton(icon: string, aria: string, key: string, onclick: () => void, disabled = false): HTMLElement {
  const b = button('', { key, onclick, icon, aria, secondary: true, disabled });
  b.classList.add('icon-button');
  return b;
}

function badge(text: string, cls = ''): HTMLElement {
  return h('vscode-badge', { class: `badge ${cls}` }, text);
}

/** A score bar drawn with theme colours (native <meter> draws a white track in dark themes). */
function scoreBar(score: number, label: string): HTMLElement {
  const v = Math.max(0, Math.min(100, Math.round(score)));
  const band = v >= 75 ? 'good' : v >= 50 ? 'fair' : 'poor';
  const fill = h('span', { class: `score-fill band-${band}` });
  fill.style.width = `${v}%`; // through the CSSOM: the CSP allows no style attributes
  return h(
    'span',
    {
      class: 'score-bar',
      role: 'meter',
      'aria-valuemin': 0,
      'aria-valuemax': 100,
      'aria-valuenow': v,
      'aria-label': label,
    },
    fill,
  );
}

export function header(st: ViewState, a: Actions): HTMLElement[] {
  const s = st.snapshot?.status;
  return compact([
    h(
      'div',
      { class: 'title' },
      h('h1', {}, 'Backstop Diagnostics'),
      s
        ? h(
            'span',
            { class: `score level-${s.healthLevel}`, 'aria-label': `health score ${s.healthScore}, ${s.healthLevel}` },
            String(s.healthScore),
          )
        : null,
      s ? h('span', { class: 'muted' }, `${s.healthLevel} · v${s.version} · up ${ms(s.uptimeMs)}`) : null,
    ),
    h(
      'div',
      { class: 'toolbar' },
      button('Refresh', { key: 'refresh', icon: 'refresh', onclick: () => a.post({ type: 'refresh' }) }),
      button('Show logs', {
        key: 'logs',
        icon: 'output',
        secondary: true,
        onclick: () => a.post({ type: 'showLogs' }),
      }),
    ),
    s?.exhausted
      ? h(
          'p',
          { class: 'banner error', role: 'alert' },
          `Every model in the chain failed or is cooling down${s.exhaustedUntil ? ` until ${time(s.exhaustedUntil)} (${ago(s.exhaustedUntil)})` : ''}. Requests work again on recovery.`,
        )
      : null,
  ]);
}

export function statsLine(st: ViewState): string | undefined {
  const stats = st.snapshot?.stats;
  if (!stats) return undefined;
  const n = stats.totalRequests;
  const parts = [`${n} request${n === 1 ? '' : 's'}`];
  if (n) {
    parts.push(`${stats.fallbackRequests} fell back (${Math.round(stats.fallbackRate * 100)}%)`);
    const failed = stats.failedRequests ?? 0;
    parts.push(`${failed} failed (${Math.round((failed / n) * 100)}%)`);
  }
  return parts.join(' · ');
}

export function health(st: ViewState): HTMLElement[] {
  const r = st.snapshot?.health;
  const line = statsLine(st);
  const factor = (f: HealthFactor): HTMLElement =>
    h(
      'tr',
      {},
      h(
        'th',
        { scope: 'row' },
        sentence(words(f.name)),
        h('div', { class: 'muted small' }, `weight ${Math.round(f.weight * 100)}%`),
      ),
      h(
        'td',
        { class: 'nowrap' },
        scoreBar(f.score, `${words(f.name)} ${Math.round(f.score)}`),
        ` ${Math.round(f.score)}`,
      ),
      h('td', {}, f.detail),
    );
  return compact([
    h('h2', {}, 'Health'),
    unavailable(st, 'health'),
    line ? h('p', { class: 'stats', id: 'stats-line' }, line) : null,
    r
      ? h(
          'div',
          { class: 'table-scroll' },
          h(
            'table',
            { class: 'data', id: 'health-table' },
            h('thead', {}, h('tr', {}, h('th', {}, 'Factor'), h('th', {}, 'Score'), h('th', {}, 'Detail'))),
            h('tbody', {}, r.factors.map(factor)),
          ),
        )
      : null,
    r?.recommendations.length
      ? h(
          'div',
          {},
          h('h3', {}, 'Recommendations'),
          h(
            'ul',
            {},
            r.recommendations.map((t) => h('li', {}, t)),
          ),
        )
      : null,
    purposesBlock(st.snapshot?.status),
    spendBlock(st.snapshot?.usage),
  ]);
}

export function system(st: ViewState): HTMLElement[] {
  const sys = st.snapshot?.system;
  if (!sys) return [h('h2', {}, 'System'), unavailable(st, 'system') ?? h('p', { class: 'muted' }, 'No data.')];
  return compact([
    h('h2', {}, 'System'),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'CPU'),
      h('dd', {}, `${sys.cpu.brand} · ${sys.cpu.cores} cores · ${Math.round(sys.cpu.loadPercent)}% load`),
      h('dt', {}, 'RAM'),
      h('dd', {}, `${bytes(sys.memory.availableBytes)} free of ${bytes(sys.memory.totalBytes)}`),
      h('dt', {}, 'GPU'),
      h(
        'dd',
        {},
        sys.gpus.length
          ? sys.gpus.map((g) => `${g.vendor} ${g.model}`).join(', ')
          : 'none detected — local models run on the CPU',
      ),
      sys.gpus.length ? h('dt', {}, 'VRAM') : null,
      sys.gpus.length
        ? h('dd', {}, sys.gpus.map((g) => `${bytes(g.vramFreeBytes)} free of ${bytes(g.vramTotalBytes)}`).join(', '))
        : null,
      h('dt', {}, 'Platform'),
      h('dd', {}, sys.platform),
    ),
  ]);
}

const AVAIL_TEXT: Record<string, string> = {
  ready: 'ready',
  missing: 'missing',
  unreachable: 'unreachable',
  incompatible: 'incompatible',
  cooling_down: 'cooling down',
  loading: 'loading',
};

function modelStatus(m: ModelInfo): HTMLElement {
  const circuit = m.health.state;
  return h(
    'span',
    { class: 'status-cell', title: m.reason ?? '' },
    h('span', { class: `dot avail-${m.availability}`, 'aria-hidden': 'true' }),
    AVAIL_TEXT[m.availability] ?? words(m.availability),
    circuit !== 'healthy' ? h('div', { class: `small circuit-${circuit}` }, `circuit ${words(circuit)}`) : null,
    m.fit && !m.fit.fits ? h('div', { class: 'small error-text' }, 'does not fit in memory') : null,
  );
}

function speed(b: BenchmarkResult | undefined): HTMLElement {
  if (!b?.ok) return h('span', { class: 'muted' }, '–');
  return h(
    'span',
    {},
    b.tokensPerSecond !== undefined ? h('div', { class: 'nowrap' }, `${b.tokensPerSecond.toFixed(1)} tok/s`) : null,
    b.ttftMs !== undefined ? h('div', { class: 'nowrap muted small' }, `first token ${ms(b.ttftMs)}`) : null,
  );
}

function modelTable(st: ViewState, a: Actions, list: ModelInfo[], id: string): HTMLElement {
  const chain = st.snapshot?.status?.chain ?? [];
  const row = (m: ModelInfo): HTMLElement => {
    const b = st.benchmarks[m.id] ?? m.benchmark;
    const pos = chain.indexOf(m.id);
    return h(
      'tr',
      { 'data-model': m.id },
      h(
        'th',
        { scope: 'row' },
        modelId(m.id),
        h(
          'div',
          { class: 'badges' },
          pos === 0 ? badge('primary', 'primary') : pos > 0 ? badge(`fallback ${pos}`) : null,
          h('span', { class: 'muted small' }, m.kind),
        ),
      ),
      h('td', {}, modelStatus(m)),
      h('td', {}, speed(b)),
      h(
        'td',
        { class: 'actions' },
        iconButton(
          'star-full',
          `Make ${m.id} primary`,
          `primary:${m.id}`,
          () => a.post({ type: 'setPrimary', model: m.id }),
          pos === 0,
        ),
        iconButton(
          'dashboard',
          `Benchmark ${m.id}`,
          `bench:${m.id}`,
          () => a.post({ type: 'benchmark', models: [m.id] }),
          st.benchmarkBusy,
        ),
      ),
    );
  };
  return h(
    'div',
    { class: 'table-scroll' },
    h(
      'table',
      { class: 'data models', id },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Model', 'Status', 'Speed', h('span', { class: 'sr-only' }, 'Actions')].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h('tbody', {}, list.map(row)),
    ),
  );
}

/** The chain's models first (in chain order), then the other configured ones; the rest folded away. */
export function splitModels(
  models: readonly ModelInfo[],
  chain: readonly string[],
  configured: readonly string[] | undefined,
): { mine: ModelInfo[]; discovered: ModelInfo[] } {
  const named = new Set([...chain, ...(configured ?? models.map((m) => m.id))]);
  const rank = (m: ModelInfo): number => {
    const i = chain.indexOf(m.id);
    return i >= 0 ? i : chain.length;
  };
  const mine = models.filter((m) => named.has(m.id)).sort((x, y) => rank(x) - rank(y) || x.id.localeCompare(y.id));
  const discovered = models.filter((m) => !named.has(m.id)).sort((x, y) => x.id.localeCompare(y.id));
  return { mine, discovered };
}

export function models(st: ViewState, a: Actions): HTMLElement[] {
  const list = st.snapshot?.models;
  if (!list) return [h('h2', {}, 'Models'), unavailable(st, 'models') ?? h('p', { class: 'muted' }, 'No data.')];
  const { mine, discovered } = splitModels(list, st.snapshot?.status?.chain ?? [], st.snapshot?.configured);
  return compact([
    h('h2', {}, `Models (${mine.length})`),
    mine.length
      ? modelTable(st, a, mine, 'models-table')
      : h('p', { class: 'muted' }, 'No models configured. Add a provider in backstop.providers, or choose a chain.'),
    discovered.length
      ? h(
          'vscode-collapsible',
          {
            id: 'discovered',
            title: `Other models found on this machine and at the providers (${discovered.length})`,
            'data-key': 'discovered',
          },
          modelTable(st, a, discovered, 'discovered-table'),
        )
      : null,
  ]);
}

export function chainEditor(st: ViewState, a: Actions): HTMLElement[] {
  const saved = st.snapshot?.status?.chain ?? [];
  const chain = st.chainDraft ?? saved;
  const dirty = st.chainDraft !== undefined && JSON.stringify(st.chainDraft) !== JSON.stringify(saved);
  const set = (next: string[]): void => a.setDraft(next);
  const byId = new Map((st.snapshot?.models ?? []).map((m) => [m.id, m]));
  const others = [...byId.keys()].filter((id) => !chain.includes(id)).sort();
  const select = h(
    'vscode-single-select',
    { 'aria-label': 'Model to add', 'data-key': 'chain-add-select', class: 'grow' },
    others.map((id) => h('vscode-option', { value: id }, id)),
  );
  return compact([
    h('h2', {}, 'Fallback chain'),
    chain.length
      ? h(
          'ol',
          { class: 'chain' },
          chain.map((id, i) => {
            const m = byId.get(id);
            return h(
              'li',
              {},
              h('span', { class: 'chain-pos muted' }, `${i + 1}`),
              h(
                'span',
                { class: 'chain-id' },
                modelId(id),
                m ? h('div', { class: 'small' }, modelStatus(m)) : h('div', { class: 'small muted' }, 'not found'),
              ),
              h(
                'span',
                { class: 'chain-actions' },
                iconButton('arrow-up', `Move ${id} up`, `up:${id}`, () => set(swap(chain, i, i - 1)), i === 0),
                iconButton(
                  'arrow-down',
                  `Move ${id} down`,
                  `down:${id}`,
                  () => set(swap(chain, i, i + 1)),
                  i === chain.length - 1,
                ),
                iconButton('close', `Remove ${id}`, `rm:${id}`, () => set(chain.filter((_, j) => j !== i))),
              ),
            );
          }),
        )
      : h('p', { class: 'muted' }, 'The chain is empty: add a model below.'),
    others.length
      ? h(
          'div',
          { class: 'row' },
          select,
          button('Add', {
            key: 'chain-add',
            icon: 'add',
            secondary: true,
            onclick: () => {
              const v = (select as unknown as { value: string }).value;
              if (v) set([...chain, v]);
            },
          }),
        )
      : null,
    h(
      'div',
      { class: 'row' },
      button('Save chain', {
        key: 'chain-save',
        disabled: !dirty,
        onclick: () => {
          a.post({ type: 'setChain', chain });
          a.setDraft(undefined);
        },
      }),
      button('Revert', {
        key: 'chain-revert',
        secondary: true,
        disabled: !dirty,
        onclick: () => a.setDraft(undefined),
      }),
    ),
  ]);
}

export function benchmark(st: ViewState, a: Actions): HTMLElement[] {
  const results = new Map<string, BenchmarkResult>();
  for (const m of st.snapshot?.models ?? []) if (m.benchmark) results.set(m.id, m.benchmark);
  for (const [id, b] of Object.entries(st.benchmarks)) results.set(id, b);
  const ok = [...results.values()].filter((b) => b.ok);
  const tps = ok.filter((b) => b.tokensPerSecond !== undefined);
  const ttft = ok.filter((b) => b.ttftMs !== undefined);
  const p = st.benchmarkProgress;
  return compact([
    h('h2', {}, 'Benchmark'),
    h(
      'div',
      { class: 'row' },
      button(st.benchmarkBusy ? 'Benchmarking…' : 'Benchmark all', {
        key: 'bench-all',
        icon: 'dashboard',
        disabled: st.benchmarkBusy,
        onclick: () => a.post({ type: 'benchmark' }),
      }),
      st.benchmarkBusy
        ? button('Cancel', { key: 'bench-cancel', secondary: true, onclick: () => a.post({ type: 'cancelBenchmark' }) })
        : null,
    ),
    st.benchmarkBusy
      ? h(
          'div',
          { class: 'progress', role: 'status' },
          h('vscode-progress-bar', {
            'aria-label': 'Benchmark progress',
            ...(p && p.total > 0 ? { value: p.done, max: p.total } : { indeterminate: true }),
          }),
          p
            ? h(
                'span',
                { class: 'muted small' },
                `${p.model}: step ${p.done} of ${p.total}${p.message ? ` · ${p.message}` : ''}`,
              )
            : null,
        )
      : null,
    unavailable(st, 'benchmark'),
    tps.length
      ? h(
          'figure',
          {},
          h('figcaption', {}, 'Generation speed (tokens per second, more is better)'),
          barChart(
            tps.map((b) => ({ label: b.model, value: b.tokensPerSecond ?? 0 })),
            (v) => `${v.toFixed(v < 10 ? 1 : 0)} tok/s`,
            'Generation speed per model',
            'bar-a',
          ),
        )
      : null,
    ttft.length
      ? h(
          'figure',
          {},
          h('figcaption', {}, 'Time to first token (less is better)'),
          barChart(
            ttft.map((b) => ({ label: b.model, value: b.ttftMs ?? 0 })),
            (v) => ms(v),
            'Time to first token per model',
            'bar-b',
          ),
        )
      : null,
    ok.length ? null : h('p', { class: 'muted' }, 'No benchmark results yet.'),
    ...[...results.values()]
      .filter((b) => !b.ok)
      .map((b) => h('p', { class: 'error-text' }, `${b.model}: ${b.error ?? 'failed'}`)),
  ]);
}

/** One line of the history, as a person reads it. */
export function historyText(e: HistoryEvent): string {
  if (e.kind === 'fallback') return `${e.from ?? '?'} → ${e.to ?? '?'}: ${words(e.failure)} — ${e.message}`;
  const reasons = (e.models ?? []).map((m) => `${m.model}: ${m.failure ? words(m.failure) : 'failed'}`);
  return `No model could answer${reasons.length ? ` (${reasons.join('; ')})` : ''} — ${e.message}`;
}

interface Line {
  key: string;
  at: string;
  level: 'info' | 'warn' | 'error';
  tag: string;
  text: string;
}

export function events(st: ViewState): HTMLElement[] {
  const history: Line[] = (st.snapshot?.history ?? []).map((e) => ({
    key: e.id,
    at: e.at,
    level: e.kind === 'failed' ? 'error' : 'warn',
    tag: e.kind === 'failed' ? 'failed' : 'fallback',
    text: historyText(e),
  }));
  const local: Line[] = st.events.map((e, i) => ({
    key: e.id ?? `local:${i}`,
    at: e.at,
    level: e.level,
    tag: e.kind,
    text: e.text,
  }));
  const lines = [...history, ...local].sort((x, y) => Date.parse(y.at) - Date.parse(x.at));
  const now = Date.now();
  return compact([
    h('h2', {}, `Events (${history.length} kept by the daemon)`),
    lines.length
      ? h(
          'ol',
          { class: 'events', tabindex: 0, 'aria-label': 'Fallbacks, failed requests and view events, newest first' },
          lines.map((e) =>
            h(
              'li',
              { class: `ev-${e.level}`, 'data-key': e.key },
              h('time', { datetime: e.at, title: ago(e.at, now) }, time(e.at)),
              badge(e.tag, `tag-${e.level}`),
              h('span', { class: 'ev-text' }, e.text),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No fallbacks yet. The daemon keeps the last 200 here, across restarts.'),
  ]);
}

export function settings(st: ViewState, a: Actions): HTMLElement[] {
  const v = st.snapshot?.settings;
  if (!v) return [h('h2', {}, 'Settings'), h('p', { class: 'muted' }, 'Loading…')];
  const field = (id: string, value: number, min: number, max: number, step: number): HTMLElement =>
    h('vscode-textfield', { type: 'number', id, min, max, step, value, class: 'num' });
  const timeout = field('set-timeout', v.timeoutMs, SETTINGS_LIMITS.timeoutMs.min, SETTINGS_LIMITS.timeoutMs.max, 1000);
  const retries = field('set-retries', v.maxRetries, SETTINGS_LIMITS.maxRetries.min, SETTINGS_LIMITS.maxRetries.max, 1);
  const auto = h('vscode-checkbox', { id: 'set-auto', checked: v.autoSwitch, label: 'Switch models automatically' });
  const vram = h('vscode-checkbox', { id: 'set-vram', checked: v.monitorVram, label: 'Monitor VRAM' });
  const error = h('p', { class: 'error-text', role: 'alert' });
  const note = h('p', { class: 'muted', role: 'status' }, st.settingsNote ?? '');
  for (const input of [timeout, retries, auto, vram]) {
    input.addEventListener('input', () => {
      note.textContent = '';
      a.settingsEdited();
    });
    input.addEventListener('change', () => a.settingsEdited());
  }
  const value = (el: HTMLElement): string => (el as unknown as { value: string }).value;
  const checked = (el: HTMLElement): boolean => (el as unknown as { checked: boolean }).checked;
  const save = (): void => {
    const next: SettingsValues = {
      timeoutMs: Number(value(timeout)),
      maxRetries: Number(value(retries)),
      autoSwitch: checked(auto),
      monitorVram: checked(vram),
    };
    const bad =
      !Number.isInteger(next.timeoutMs) ||
      next.timeoutMs < SETTINGS_LIMITS.timeoutMs.min ||
      next.timeoutMs > SETTINGS_LIMITS.timeoutMs.max
        ? `Timeout must be ${SETTINGS_LIMITS.timeoutMs.min / 1000}–${SETTINGS_LIMITS.timeoutMs.max / 1000} s (${SETTINGS_LIMITS.timeoutMs.min}–${SETTINGS_LIMITS.timeoutMs.max} in milliseconds).`
        : !Number.isInteger(next.maxRetries) ||
            next.maxRetries < SETTINGS_LIMITS.maxRetries.min ||
            next.maxRetries > SETTINGS_LIMITS.maxRetries.max
          ? `Retries must be ${SETTINGS_LIMITS.maxRetries.min}–${SETTINGS_LIMITS.maxRetries.max}.`
          : '';
    error.textContent = bad;
    if (!bad) a.post({ type: 'saveSettings', settings: next });
  };
  return compact([
    h('h2', {}, 'Settings'),
    h(
      'div',
      { class: 'settings' },
      h('label', { for: 'set-timeout' }, 'Timeout per attempt (milliseconds)'),
      timeout,
      h('label', { for: 'set-retries' }, 'Retries per model'),
      retries,
      h('div', { class: 'span' }, auto),
      h('div', { class: 'span' }, vram),
      h(
        'div',
        { class: 'row span' },
        button('Save', { key: 'settings-save', onclick: save }),
        button('Reset to defaults', {
          key: 'settings-reset',
          secondary: true,
          onclick: () => a.post({ type: 'resetSettings' }),
        }),
      ),
    ),
    error,
    note,
  ]);
}

export function monitor(st: ViewState, a: Actions): HTMLElement[] {
  const duration = h('vscode-textfield', {
    type: 'number',
    id: 'mon-duration',
    min: MONITOR_DURATION_LIMITS_S.min,
    max: MONITOR_DURATION_LIMITS_S.max,
    value: st.monitorDurationS,
    'aria-label': 'Duration in seconds',
    class: 'num',
    disabled: st.monitorRunning,
  });
  const clampDuration = (): number => {
    const d = Math.round(Number((duration as unknown as { value: string }).value));
    return Math.min(
      MONITOR_DURATION_LIMITS_S.max,
      Math.max(MONITOR_DURATION_LIMITS_S.min, d || DEFAULT_MONITOR_DURATION_S),
    );
  };
  duration.addEventListener('change', () => a.setMonitorDuration(clampDuration()));
  const samples = st.monitorSamples;
  const t = (x: MonitorSample): number => Date.parse(x.at);
  const first = samples[0];
  const last = samples.at(-1);
  const elapsedMs = first && last ? t(last) - t(first) : 0;
  const spanMs = st.monitorRunning ? st.monitorDurationS * 1000 : elapsedMs;
  return compact([
    h('h2', {}, 'Monitoring'),
    h(
      'div',
      { class: 'row' },
      h('label', { for: 'mon-duration' }, 'Duration (seconds)'),
      duration,
      button(st.monitorRunning ? 'Monitoring…' : 'Start', {
        key: 'mon-start',
        icon: 'play',
        disabled: st.monitorRunning,
        onclick: () => {
          const d = clampDuration();
          a.setMonitorDuration(d);
          a.post({ type: 'monitorStart', durationS: d });
        },
      }),
      button('Stop', {
        key: 'mon-stop',
        icon: 'debug-stop',
        secondary: true,
        disabled: !st.monitorRunning,
        onclick: () => a.post({ type: 'monitorStop' }),
      }),
    ),
    st.monitorRunning
      ? h(
          'div',
          { class: 'progress' },
          h('vscode-progress-bar', {
            'aria-label': 'Monitoring session',
            value: Math.min(elapsedMs, spanMs),
            max: Math.max(1, spanMs),
          }),
        )
      : null,
    unavailable(st, 'monitor'),
    samples.length
      ? h(
          'p',
          { class: 'muted', id: 'mon-summary' },
          `${samples.length} sample${samples.length === 1 ? '' : 's'} over ${ms(elapsedMs)}${st.monitorRunning ? ' so far' : ''} · health ${first?.healthScore ?? '–'} → ${last?.healthScore ?? '–'} · CPU ${Math.round(last?.cpuLoadPercent ?? 0)}% · ${bytes(last?.memAvailableBytes)} RAM free`,
        )
      : h('p', { class: 'muted' }, 'Start a session to chart the health score and CPU load, one sample a second.'),
    samples.length
      ? lineChart(
          [
            { name: 'health score', cls: 'series-a', points: samples.map((x) => ({ x: t(x), y: x.healthScore })) },
            { name: 'CPU %', cls: 'series-b', points: samples.map((x) => ({ x: t(x), y: x.cpuLoadPercent })) },
          ],
          'Health score and CPU load during the monitoring session',
          spanMs,
        )
      : null,
  ]);
}

function sentence(text: string): string {
  return text ? text[0]!.toUpperCase() + text.slice(1) : text;
}

function swap(list: string[], i: number, j: number): string[] {
  const next = [...list];
  const a = next[i];
  const b = next[j];
  if (a === undefined || b === undefined) return next;
  next[i] = b;
  next[j] = a;
  return next;
}

function compact(items: Maybe[]): HTMLElement[] {
  return items.filter((x): x is HTMLElement => !!x);
}
