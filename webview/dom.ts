// A tiny hyperscript helper: every piece of daemon data goes in through textContent, never innerHTML.
import { humanDuration, relativeIso } from '../protocol/humanTime';

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, '').toLowerCase(), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function s(
  tag: string,
  attrs: Record<string, string | number> = {},
  ...children: (Child | Child[])[]
): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

function append(el: Element, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

/** A duration as people read it ("350 ms", "2.5 s", "4 min 40 s"). */
export function ms(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '–';
  return humanDuration(n);
}

/** A local clock time, with the date when it is not today. */
export function time(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '–';
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

/** "2 min ago" for a past moment. */
export function ago(iso: string, nowMs = Date.now()): string {
  return relativeIso(iso, nowMs) ?? '';
}

/** "chainAvailability" → "Chain availability"; "server_error" → "server error". */
export function words(id: string): string {
  const spaced = id
    .replace(/_/g, ' ')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
  return spaced;
}

/**
 * A model id that wraps only after the provider ("cloud/" ⏎ "gpt-4o-mini"), never inside a name.
 */
export function modelId(id: string): HTMLElement {
  const slash = id.indexOf('/');
  if (slash < 0) return h('span', { class: 'mid' }, h('span', { class: 'nowrap' }, id));
  return h(
    'span',
    { class: 'mid', title: id },
    h('span', { class: 'nowrap mid-provider' }, id.slice(0, slash + 1)),
    document.createElement('wbr'),
    h('span', { class: 'nowrap' }, id.slice(slash + 1)),
  );
}
