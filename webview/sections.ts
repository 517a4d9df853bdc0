// The diagnostics sections. Each renders from the view state into its own <section>; buttons post
// typed messages. Native buttons/inputs/tables keep everything keyboard accessible.
import type { BenchmarkResult, ModelInfo, MonitorSample } from '../protocol/types';
import { barChart, lineChart } from './charts';
import { bytes, h, ms, time } from './dom';
import {
  MONITOR_DURATION_LIMITS_S,
  SETTINGS_LIMITS,
  type EventEntry,
  type FromWebview,
  type SettingsValues,
  type Snapshot,
} from '../protocol/webview';

export interface ViewState {
  snapshot?: Snapshot;
  events: EventEntry[];
  benchmarks: Record<string, BenchmarkResult>;
  benchmarkBusy: boolean;
  benchmarkProgress?: string;
  monitorSamples: MonitorSample[];
  monitorRunning: boolean;
  monitorError?: string;
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
}

function unavailable(st: ViewState, key: keyof Snapshot['unavailable']): HTMLElement | undefined {
  const why = st.snapshot?.unavailable[key];
  return why ? h('p', { class: 'muted' }, why) : undefined;
}

export function header(st: ViewState, a: Actions): HTMLElement[] {
  const s = st.snapshot?.status;
  return compact([
    h(
      'div',
      { class: 'title' },
      h('h1', {}, 'Backstop'),
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
      h('button', { onclick: () => a.post({ type: 'refresh' }), 'data-key': 'refresh' }, 'Refresh'),
      h('button', { class: 'secondary', onclick: () => a.post({ type: 'showLogs' }), 'data-key': 'logs' }, 'Show logs'),
    ),
    s?.exhausted
      ? h(
          'p',
          { class: 'banner error', role: 'alert' },
          `Every model in the chain failed or is cooling down${s.exhaustedUntil ? ` until ${time(s.exhaustedUntil)}` : ''}. Requests will work again on recovery.`,
        )
      : null,
  ]);
}

export function health(st: ViewState): HTMLElement[] {
  const r = st.snapshot?.health;
  const stats = st.snapshot?.stats;
  return compact([
    h('h2', {}, 'Health'),
    unavailable(st, 'health'),
    r
      ? h(
          'table',
          {},
          h(
            'thead',
            {},
            h('tr', {}, h('th', {}, 'Factor'), h('th', {}, 'Score'), h('th', {}, 'Weight'), h('th', {}, 'Detail')),
          ),
          h(
            'tbody',
            {},
            r.factors.map((f) =>
              h(
                'tr',
                {},
                h('td', {}, f.name),
                h(
                  'td',
                  {},
                  h('meter', {
                    min: 0,
                    max: 100,
                    low: 50,
                    high: 75,
                    optimum: 100,
                    value: f.score,
                    'aria-label': `${f.name} ${f.score}`,
                  }),
                  ` ${Math.round(f.score)}`,
                ),
                h('td', {}, `${Math.round(f.weight * 100)}%`),
                h('td', {}, f.detail),
              ),
            ),
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
    stats
      ? h(
          'p',
          { class: 'muted' },
          `${stats.totalRequests} request${stats.totalRequests === 1 ? '' : 's'}, ${stats.fallbackRequests} with fallback (${(stats.fallbackRate * 100).toFixed(1)}%)`,
        )
      : null,
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
      h('dt', {}, 'VRAM'),
      h(
        'dd',
        {},
        sys.gpus.length
          ? sys.gpus.map((g) => `${bytes(g.vramFreeBytes)} free of ${bytes(g.vramTotalBytes)}`).join(', ')
          : '–',
      ),
      h('dt', {}, 'Platform'),
      h('dd', {}, sys.platform),
    ),
  ]);
}

export function models(st: ViewState, a: Actions): HTMLElement[] {
  const list = st.snapshot?.models;
  const chain = st.snapshot?.status?.chain ?? [];
  if (!list) return [h('h2', {}, 'Models'), unavailable(st, 'models') ?? h('p', { class: 'muted' }, 'No data.')];
  const row = (m: ModelInfo): HTMLElement => {
    const b = st.benchmarks[m.id] ?? m.benchmark;
    const primary = chain[0] === m.id;
    return h(
      'tr',
      { 'data-model': m.id },
      h('th', { scope: 'row' }, m.id, primary ? h('span', { class: 'badge' }, 'primary') : null),
      h('td', {}, m.provider),
      h('td', {}, m.kind),
      h('td', { class: `avail-${m.availability}`, title: m.reason ?? '' }, m.availability.replace('_', ' ')),
      h(
        'td',
        {},
        m.fit
          ? m.fit.fits
            ? `fits${m.fit.gpuLayers ? ` (${m.fit.gpuLayers} GPU layers)` : ' (CPU)'}`
            : 'does not fit'
          : '–',
      ),
      h('td', { class: `circuit-${m.health.state}` }, m.health.state.replace('_', '-')),
      h('td', {}, b?.ok && b.tokensPerSecond !== undefined ? b.tokensPerSecond.toFixed(1) : '–'),
      h('td', {}, b?.ok ? ms(b.ttftMs) : '–'),
      h(
        'td',
        { class: 'actions' },
        h(
          'button',
          {
            class: 'secondary',
            disabled: primary,
            'data-key': `primary:${m.id}`,
            'aria-label': `Make ${m.id} primary`,
            onclick: () => a.post({ type: 'setPrimary', model: m.id }),
          },
          'Make primary',
        ),
        h(
          'button',
          {
            class: 'secondary',
            disabled: st.benchmarkBusy,
            'data-key': `bench:${m.id}`,
            'aria-label': `Benchmark ${m.id}`,
            onclick: () => a.post({ type: 'benchmark', models: [m.id] }),
          },
          'Benchmark',
        ),
      ),
    );
  };
  return compact([
    h('h2', {}, `Models (${list.length})`),
    list.length
      ? h(
          'div',
          { class: 'table-scroll' },
          h(
            'table',
            { id: 'models-table' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Model', 'Provider', 'Kind', 'Availability', 'Fit', 'Circuit', 'tok/s', 'TTFT', ''].map((t) =>
                  h('th', { scope: 'col' }, t),
                ),
              ),
            ),
            h('tbody', {}, list.map(row)),
          ),
        )
      : h('p', { class: 'muted' }, 'No models. Configure backstop.providers or backstop.local.modelsDirs.'),
  ]);
}

export function chainEditor(st: ViewState, a: Actions): HTMLElement[] {
  const saved = st.snapshot?.status?.chain ?? [];
  const chain = st.chainDraft ?? saved;
  const dirty = st.chainDraft !== undefined && JSON.stringify(st.chainDraft) !== JSON.stringify(saved);
  const set = (next: string[]): void => a.setDraft(next);
  const others = (st.snapshot?.models ?? []).map((m) => m.id).filter((id) => !chain.includes(id));
  const select = h(
    'select',
    { 'aria-label': 'Model to add', 'data-key': 'chain-add-select' },
    others.map((id) => h('option', { value: id }, id)),
  );
  return compact([
    h('h2', {}, 'Fallback chain'),
    h(
      'ol',
      { class: 'chain' },
      chain.map((id, i) =>
        h(
          'li',
          {},
          h('span', { class: 'chain-id' }, id),
          h(
            'button',
            {
              class: 'icon',
              disabled: i === 0,
              'data-key': `up:${id}`,
              'aria-label': `Move ${id} up`,
              onclick: () => set(swap(chain, i, i - 1)),
            },
            '↑',
          ),
          h(
            'button',
            {
              class: 'icon',
              disabled: i === chain.length - 1,
              'data-key': `down:${id}`,
              'aria-label': `Move ${id} down`,
              onclick: () => set(swap(chain, i, i + 1)),
            },
            '↓',
          ),
          h(
            'button',
            {
              class: 'icon',
              'data-key': `rm:${id}`,
              'aria-label': `Remove ${id}`,
              onclick: () => set(chain.filter((_, j) => j !== i)),
            },
            '✕',
          ),
        ),
      ),
    ),
    others.length
      ? h(
          'div',
          { class: 'row' },
          select,
          h(
            'button',
            {
              class: 'secondary',
              'data-key': 'chain-add',
              onclick: () => {
                if (select.value) set([...chain, select.value]);
              },
            },
            'Add',
          ),
        )
      : null,
    h(
      'div',
      { class: 'row' },
      h(
        'button',
        {
          disabled: !dirty,
          'data-key': 'chain-save',
          onclick: () => {
            a.post({ type: 'setChain', chain });
            a.setDraft(undefined);
          },
        },
        'Save chain',
      ),
      h(
        'button',
        { class: 'secondary', disabled: !dirty, 'data-key': 'chain-revert', onclick: () => a.setDraft(undefined) },
        'Revert',
      ),
    ),
  ]);
}

export function benchmark(st: ViewState, a: Actions): HTMLElement[] {
  const results = new Map<string, BenchmarkResult>();
  for (const m of st.snapshot?.models ?? []) if (m.benchmark) results.set(m.id, m.benchmark);
  for (const [id, b] of Object.entries(st.benchmarks)) results.set(id, b);
  const ok = [...results.values()].filter((b) => b.ok && b.tokensPerSecond !== undefined);
  return compact([
    h('h2', {}, 'Benchmark'),
    h(
      'div',
      { class: 'row' },
      h(
        'button',
        { disabled: st.benchmarkBusy, 'data-key': 'bench-all', onclick: () => a.post({ type: 'benchmark' }) },
        st.benchmarkBusy ? 'Benchmarking…' : 'Benchmark all',
      ),
      st.benchmarkBusy
        ? h(
            'button',
            { class: 'secondary', 'data-key': 'bench-cancel', onclick: () => a.post({ type: 'cancelBenchmark' }) },
            'Cancel',
          )
        : null,
      st.benchmarkProgress ? h('span', { class: 'muted', role: 'status' }, st.benchmarkProgress) : null,
    ),
    unavailable(st, 'benchmark'),
    ok.length
      ? barChart(
          ok.map((b) => ({
            label: b.model,
            value: b.tokensPerSecond ?? 0,
            note: b.ttftMs !== undefined ? `· TTFT ${ms(b.ttftMs)}` : '',
          })),
          'tok/s',
          'Generation speed per model (tokens per second)',
        )
      : h('p', { class: 'muted' }, 'No benchmark results yet.'),
    ...[...results.values()]
      .filter((b) => !b.ok)
      .map((b) => h('p', { class: 'error-text' }, `${b.model}: ${b.error ?? 'failed'}`)),
  ]);
}

export function events(st: ViewState): HTMLElement[] {
  return compact([
    h('h2', {}, 'Events'),
    st.events.length
      ? h(
          'ol',
          {
            class: 'events',
            'aria-live': 'polite',
            tabindex: 0,
            'aria-label': 'Fallbacks and daemon events, newest first',
          },
          st.events.map((e) =>
            h('li', { class: `ev-${e.level} ev-${e.kind}` }, h('time', { datetime: e.at }, time(e.at)), ` ${e.text}`),
          ),
        )
      : h('p', { class: 'muted' }, 'No fallbacks or warnings since this view opened.'),
  ]);
}

export function settings(st: ViewState, a: Actions): HTMLElement[] {
  const v = st.snapshot?.settings;
  if (!v) return [h('h2', {}, 'Settings'), h('p', { class: 'muted' }, 'Loading…')];
  const timeout = h('input', {
    type: 'number',
    id: 'set-timeout',
    min: SETTINGS_LIMITS.timeoutMs.min,
    max: SETTINGS_LIMITS.timeoutMs.max,
    step: 1000,
    value: v.timeoutMs,
  });
  const retries = h('input', {
    type: 'number',
    id: 'set-retries',
    min: SETTINGS_LIMITS.maxRetries.min,
    max: SETTINGS_LIMITS.maxRetries.max,
    step: 1,
    value: v.maxRetries,
  });
  const auto = h('input', { type: 'checkbox', id: 'set-auto', checked: v.autoSwitch });
  const vram = h('input', { type: 'checkbox', id: 'set-vram', checked: v.monitorVram });
  const error = h('p', { class: 'error-text', role: 'alert' });
  const note = h('p', { class: 'muted', role: 'status' }, st.settingsNote ?? '');
  for (const input of [timeout, retries, auto, vram]) {
    input.addEventListener('input', () => {
      note.textContent = '';
      a.settingsEdited();
    });
    input.addEventListener('change', () => a.settingsEdited());
  }
  const save = (): void => {
    const next: SettingsValues = {
      timeoutMs: Number(timeout.value),
      maxRetries: Number(retries.value),
      autoSwitch: auto.checked,
      monitorVram: vram.checked,
    };
    const bad =
      !Number.isInteger(next.timeoutMs) ||
      next.timeoutMs < SETTINGS_LIMITS.timeoutMs.min ||
      next.timeoutMs > SETTINGS_LIMITS.timeoutMs.max
        ? `Timeout must be ${SETTINGS_LIMITS.timeoutMs.min}–${SETTINGS_LIMITS.timeoutMs.max} ms.`
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
      'form',
      {
        class: 'settings',
        onsubmit: (e: Event) => {
          e.preventDefault();
          save();
        },
      },
      h('label', { for: 'set-timeout' }, 'Timeout per attempt (ms)'),
      timeout,
      h('label', { for: 'set-retries' }, 'Retries per model'),
      retries,
      h('label', { for: 'set-auto' }, 'Switch models automatically'),
      auto,
      h('label', { for: 'set-vram' }, 'Monitor VRAM'),
      vram,
      h(
        'div',
        { class: 'row span' },
        h('button', { type: 'submit', 'data-key': 'settings-save' }, 'Save'),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            'data-key': 'settings-reset',
            onclick: () => a.post({ type: 'resetSettings' }),
          },
          'Reset to defaults',
        ),
      ),
    ),
    error,
    note,
  ]);
}

export function monitor(st: ViewState, a: Actions): HTMLElement[] {
  const duration = h('input', {
    type: 'number',
    id: 'mon-duration',
    min: MONITOR_DURATION_LIMITS_S.min,
    max: MONITOR_DURATION_LIMITS_S.max,
    value: 30,
    'aria-label': 'Duration in seconds',
  });
  const samples = st.monitorSamples;
  const t = (x: MonitorSample): number => Date.parse(x.at);
  return compact([
    h('h2', {}, 'Monitoring'),
    h(
      'div',
      { class: 'row' },
      h('label', { for: 'mon-duration' }, 'Duration (s)'),
      duration,
      h(
        'button',
        {
          disabled: st.monitorRunning,
          'data-key': 'mon-start',
          onclick: () => {
            const d = Math.round(Number(duration.value));
            a.post({
              type: 'monitorStart',
              durationS: Math.min(MONITOR_DURATION_LIMITS_S.max, Math.max(MONITOR_DURATION_LIMITS_S.min, d || 30)),
            });
          },
        },
        st.monitorRunning ? 'Monitoring…' : 'Start',
      ),
      h(
        'button',
        {
          class: 'secondary',
          disabled: !st.monitorRunning,
          'data-key': 'mon-stop',
          onclick: () => a.post({ type: 'monitorStop' }),
        },
        'Stop',
      ),
    ),
    unavailable(st, 'monitor'),
    samples.length > 1
      ? lineChart(
          [
            { name: 'health', cls: 'series-a', max: 100, points: samples.map((x) => ({ x: t(x), y: x.healthScore })) },
            {
              name: 'CPU %',
              cls: 'series-b',
              max: 100,
              points: samples.map((x) => ({ x: t(x), y: x.cpuLoadPercent })),
            },
          ],
          'Health score and CPU load during the monitoring session',
        )
      : h(
          'p',
          { class: 'muted' },
          samples.length ? '1 sample so far.' : 'Start a session to sample health, CPU, memory and VRAM.',
        ),
  ]);
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

type Maybe = HTMLElement | SVGElement | null | undefined | false;
function compact(items: Maybe[]): HTMLElement[] {
  return items.filter((x): x is HTMLElement => !!x);
}
