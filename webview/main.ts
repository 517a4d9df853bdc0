// The diagnostics webview: state, message handling and per-section rendering. Runs in the browser.
import './main.css';
// The VS Code look: only the components the view uses (each registers its custom element).
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import { h } from './dom';
import { isToWebview, type FromWebview, type ToWebview } from '../protocol/webview';
import * as sections from './sections';
import { DEFAULT_MONITOR_DURATION_S, type Actions, type ViewState } from './sections';

interface VsCodeApi {
  postMessage(m: FromWebview): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const MAX_EVENTS = 200;
type SectionName =
  'header' | 'health' | 'system' | 'models' | 'chain' | 'benchmark' | 'events' | 'settings' | 'monitor';

const vscode = acquireVsCodeApi();
/** What survives the panel being hidden and shown again (getState/setState). */
interface Persisted {
  events: ViewState['events'];
  benchmarks: ViewState['benchmarks'];
  monitorSamples: ViewState['monitorSamples'];
  monitorDurationS?: number;
  chainDraft?: string[];
}
const saved = vscode.getState() as Partial<Persisted> | undefined;
const state: ViewState = {
  events: Array.isArray(saved?.events) ? saved.events : [],
  benchmarks: saved?.benchmarks && typeof saved.benchmarks === 'object' ? saved.benchmarks : {},
  benchmarkBusy: false,
  monitorSamples: Array.isArray(saved?.monitorSamples) ? saved.monitorSamples : [],
  monitorRunning: false,
  monitorDurationS:
    typeof saved?.monitorDurationS === 'number' && Number.isFinite(saved.monitorDurationS)
      ? saved.monitorDurationS
      : DEFAULT_MONITOR_DURATION_S,
  settingsDirty: false,
  ...(Array.isArray(saved?.chainDraft) ? { chainDraft: saved.chainDraft } : {}),
};

const actions: Actions = {
  post: (m) => vscode.postMessage(m),
  setDraft: (chain) => {
    if (chain === undefined) delete state.chainDraft;
    else state.chainDraft = chain;
    render('chain');
  },
  settingsEdited: () => {
    state.settingsDirty = true;
  },
  setMonitorDuration: (s) => {
    state.monitorDurationS = s;
    persist();
  },
};

const renderers: Record<SectionName, () => HTMLElement[]> = {
  header: () => sections.header(state, actions),
  health: () => sections.health(state),
  system: () => sections.system(state),
  models: () => sections.models(state, actions),
  chain: () => sections.chainEditor(state, actions),
  benchmark: () => sections.benchmark(state, actions),
  events: () => sections.events(state),
  settings: () => sections.settings(state, actions),
  monitor: () => sections.monitor(state, actions),
};
const ORDER: SectionName[] = [
  'header',
  'health',
  'chain',
  'models',
  'events',
  'benchmark',
  'monitor',
  'system',
  'settings',
];
/** Sections that take the full width; the others pair up in two columns when the view is wide. */
const WIDE: ReadonlySet<SectionName> = new Set(['header', 'models', 'events']);
const containers = new Map<SectionName, HTMLElement>();

function mount(): void {
  const app = document.getElementById('app');
  if (!app) return;
  app.replaceChildren(
    ...ORDER.map((name) => {
      const el =
        name === 'header'
          ? h('header', { id: 'sec-header' })
          : h('section', {
              id: `sec-${name}`,
              'aria-labelledby': `sec-${name}-h`,
              class: WIDE.has(name) ? 'wide' : 'half',
            });
      containers.set(name, el);
      return el;
    }),
  );
  render(...ORDER);
}

/** Re-render some sections, keeping keyboard focus on the same control (by data-key or id). */
function render(...names: SectionName[]): void {
  const active = document.activeElement as HTMLElement | null;
  const focusKey = active?.getAttribute('data-key') ?? (active?.id ? `#${active.id}` : undefined);
  for (const name of names) {
    const el = containers.get(name);
    if (!el) continue;
    if (name === 'settings' && state.settingsDirty) continue; // the user's unsaved edits stay in the inputs
    const children = renderers[name]();
    const heading = children.find((c) => c.tagName === 'H2');
    if (heading) heading.id = `sec-${name}-h`;
    el.replaceChildren(...children);
  }
  if (focusKey && !document.activeElement?.isConnected) {
    const next = focusKey.startsWith('#')
      ? document.getElementById(focusKey.slice(1))
      : document.querySelector<HTMLElement>(`[data-key="${CSS.escape(focusKey)}"]`);
    next?.focus();
  }
  persist();
}

function persist(): void {
  const p: Persisted = {
    events: state.events,
    benchmarks: state.benchmarks,
    monitorSamples: state.monitorSamples,
    monitorDurationS: state.monitorDurationS,
    ...(state.chainDraft ? { chainDraft: state.chainDraft } : {}),
  };
  vscode.setState(p);
}

function addEvent(e: ViewState['events'][number]): void {
  state.events = [e, ...state.events].slice(0, MAX_EVENTS);
  render('events');
}

function onMessage(m: ToWebview): void {
  switch (m.type) {
    case 'snapshot':
      state.snapshot = m.snapshot;
      render(...ORDER);
      return;
    case 'history':
      if (state.snapshot)
        state.snapshot = { ...state.snapshot, history: m.events, ...(m.stats ? { stats: m.stats } : {}) };
      render('events', 'health');
      return;
    case 'status':
      if (state.snapshot) state.snapshot = { ...state.snapshot, status: m.status };
      else
        state.snapshot = {
          status: m.status,
          settings: { timeoutMs: 30000, maxRetries: 2, autoSwitch: true, monitorVram: true },
          unavailable: {},
        };
      render('header', 'models', 'chain');
      return;
    case 'models':
      if (state.snapshot) state.snapshot = { ...state.snapshot, models: m.models };
      render('models', 'chain', 'benchmark');
      return;
    case 'fallback':
      // The daemon's history (a 'history' message right after) carries it, with its reason.
      return;
    case 'event':
      addEvent(m.event);
      return;
    case 'benchmarkProgress':
      state.benchmarkProgress = m.progress;
      render('benchmark');
      return;
    case 'benchmarkResults':
      for (const b of m.results) state.benchmarks[b.model] = b;
      delete state.benchmarkProgress;
      addEvent({
        at: new Date().toISOString(),
        level: 'info',
        kind: 'benchmark',
        text: `benchmark finished: ${m.results.map((b) => b.model).join(', ')}`,
      });
      render('benchmark', 'models');
      return;
    case 'busy':
      if (m.section === 'benchmark') state.benchmarkBusy = m.busy;
      render('benchmark', 'models');
      return;
    case 'monitor':
      state.monitorRunning = m.running;
      // A new session starts empty; a failed start keeps the last session's chart.
      if (m.samples.length || m.running) state.monitorSamples = m.samples;
      render('monitor');
      return;
    case 'settingsSaved':
      state.settingsDirty = false;
      state.settingsNote = m.reset
        ? m.changed.length
          ? 'Defaults restored.'
          : 'Already at the defaults.'
        : m.changed.length
          ? `Settings saved (${m.changed.join(', ')}).`
          : 'No changes to save.';
      render('settings');
      return;
    case 'unavailable':
      if (state.snapshot)
        state.snapshot = { ...state.snapshot, unavailable: { ...state.snapshot.unavailable, [m.section]: m.message } };
      render(m.section === 'status' ? 'header' : m.section === 'stats' ? 'health' : (m.section as SectionName));
      return;
  }
}

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  if (isToWebview(e.data)) onMessage(e.data);
});
mount();
vscode.postMessage({ type: 'ready' });
