// Small SVG charts (no chart library: these need little, and the view's bundle stays small). Colours
// come from VS Code theme variables through CSS classes, so they follow the theme. Each chart scales
// to its container's width (viewBox), labels and values keep room of their own (never clipped).
import { s } from './dom';

export interface Bar {
  label: string;
  value: number;
}

const BAR_HEIGHT_PX = 18;
const BAR_GAP_PX = 6;
const LABEL_WIDTH_PX = 190;
const VALUE_WIDTH_PX = 90;
const CHART_WIDTH_PX = 560;
const LABEL_CHARS = 28;

/** Horizontal bars, one per model (tokens per second, time to first token). */
export function barChart(bars: Bar[], format: (v: number) => string, title: string, cls = 'bar-a'): SVGElement {
  const max = Math.max(1e-9, ...bars.map((b) => b.value));
  const height = bars.length * (BAR_HEIGHT_PX + BAR_GAP_PX) + BAR_GAP_PX;
  const plotW = CHART_WIDTH_PX - LABEL_WIDTH_PX - VALUE_WIDTH_PX;
  return s(
    'svg',
    { class: 'chart', viewBox: `0 0 ${CHART_WIDTH_PX} ${height}`, role: 'img', 'aria-label': title },
    s('title', {}, title),
    bars.map((b, i) => {
      const y = BAR_GAP_PX + i * (BAR_HEIGHT_PX + BAR_GAP_PX);
      const w = Math.max(2, (b.value / max) * plotW);
      const text = y + BAR_HEIGHT_PX * 0.72;
      return s(
        'g',
        {},
        s('title', {}, `${b.label}: ${format(b.value)}`),
        s(
          'text',
          { x: LABEL_WIDTH_PX - 8, y: text, 'text-anchor': 'end', class: 'chart-label' },
          truncate(b.label, LABEL_CHARS),
        ),
        s('rect', { x: LABEL_WIDTH_PX, y, width: plotW, height: BAR_HEIGHT_PX, rx: 2, class: 'chart-track' }),
        s('rect', { x: LABEL_WIDTH_PX, y, width: w, height: BAR_HEIGHT_PX, rx: 2, class: `chart-bar ${cls}` }),
        s('text', { x: LABEL_WIDTH_PX + plotW + 6, y: text, class: 'chart-value' }, format(b.value)),
      );
    }),
  );
}

export interface Series {
  name: string;
  cls: string;
  points: { x: number; y: number }[];
}

const LINE_H_PX = 170;
const PAD_L_PX = 34;
const PAD_R_PX = 12;
const PAD_T_PX = 24;
const PAD_B_PX = 22;

/**
 * Lines over time on a 0–100 scale (health score, CPU %), x in seconds since the first point. The
 * x axis spans at least `minSpanMs` (the session's duration), so a live chart fills in from the left.
 */
export function lineChart(series: Series[], title: string, minSpanMs = 0): SVGElement {
  const xs = series.flatMap((se) => se.points.map((p) => p.x));
  const x0 = Math.min(...xs);
  const spanX = Math.max(1, Math.max(...xs) - x0, minSpanMs);
  const plotW = CHART_WIDTH_PX - PAD_L_PX - PAD_R_PX;
  const plotH = LINE_H_PX - PAD_T_PX - PAD_B_PX;
  const yOf = (v: number): number => PAD_T_PX + plotH - (Math.min(100, Math.max(0, v)) / 100) * plotH;
  const xOf = (x: number): number => PAD_L_PX + ((x - x0) / spanX) * plotW;
  return s(
    'svg',
    { class: 'chart', viewBox: `0 0 ${CHART_WIDTH_PX} ${LINE_H_PX}`, role: 'img', 'aria-label': title },
    s('title', {}, title),
    [0, 50, 100].map((v) =>
      s(
        'g',
        {},
        s('line', { x1: PAD_L_PX, y1: yOf(v), x2: CHART_WIDTH_PX - PAD_R_PX, y2: yOf(v), class: 'chart-grid' }),
        s('text', { x: PAD_L_PX - 6, y: yOf(v) + 4, 'text-anchor': 'end', class: 'chart-label' }, String(v)),
      ),
    ),
    series.map((se, i) => {
      const d = se.points.map((p, j) => `${j ? 'L' : 'M'}${xOf(p.x).toFixed(1)},${yOf(p.y).toFixed(1)}`).join(' ');
      const last = se.points.at(-1);
      return s(
        'g',
        {},
        s('path', { d, class: `chart-line ${se.cls}`, fill: 'none' }),
        last ? s('circle', { cx: xOf(last.x), cy: yOf(last.y), r: 3, class: `chart-dot ${se.cls}` }) : null,
        s('rect', { x: PAD_L_PX + i * 150, y: 6, width: 10, height: 10, class: `chart-key ${se.cls}` }),
        s('text', { x: PAD_L_PX + i * 150 + 14, y: 15, class: 'chart-label' }, se.name),
      );
    }),
    s('text', { x: PAD_L_PX, y: LINE_H_PX - 6, class: 'chart-label' }, '0 s'),
    s(
      'text',
      { x: CHART_WIDTH_PX - PAD_R_PX, y: LINE_H_PX - 6, 'text-anchor': 'end', class: 'chart-label' },
      `${Math.round(spanX / 1000)} s`,
    ),
  );
}

function truncate(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}
