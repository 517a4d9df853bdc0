// Two small SVG charts (no chart library: nothing well-kept is installed, and these need little).
// Colours come from VS Code theme variables through CSS classes, so they follow the theme.
import { s } from './dom';

export interface Bar {
  label: string;
  value: number;
  note?: string;
}

const BAR_HEIGHT_PX = 22;
const LABEL_WIDTH_PX = 220;
const CHART_WIDTH_PX = 640;

/** Horizontal bars, e.g. tokens/s per model. */
export function barChart(bars: Bar[], unit: string, title: string): SVGElement {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const height = bars.length * (BAR_HEIGHT_PX + 6) + 8;
  const plotW = CHART_WIDTH_PX - LABEL_WIDTH_PX - 90;
  return s(
    'svg',
    { class: 'chart', viewBox: `0 0 ${CHART_WIDTH_PX} ${height}`, role: 'img', 'aria-label': title },
    s('title', {}, title),
    bars.map((b, i) => {
      const y = 4 + i * (BAR_HEIGHT_PX + 6);
      const w = Math.max(2, (b.value / max) * plotW);
      return s(
        'g',
        {},
        s(
          'text',
          { x: LABEL_WIDTH_PX - 8, y: y + BAR_HEIGHT_PX * 0.7, 'text-anchor': 'end', class: 'chart-label' },
          truncate(b.label, 30),
        ),
        s('rect', { x: LABEL_WIDTH_PX, y, width: w, height: BAR_HEIGHT_PX, rx: 2, class: 'chart-bar' }),
        s(
          'text',
          { x: LABEL_WIDTH_PX + w + 6, y: y + BAR_HEIGHT_PX * 0.7, class: 'chart-value' },
          `${b.value.toFixed(b.value < 10 ? 1 : 0)} ${unit}${b.note ? ` ${b.note}` : ''}`,
        ),
      );
    }),
  );
}

export interface Series {
  name: string;
  cls: string;
  points: { x: number; y: number }[];
  max: number;
}

const LINE_H_PX = 180;
const PAD_PX = 28;

/** Lines over time, each series scaled to its own max (labelled in the legend). */
export function lineChart(series: Series[], title: string): SVGElement {
  const xs = series.flatMap((se) => se.points.map((p) => p.x));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const spanX = Math.max(1, x1 - x0);
  const plotW = CHART_WIDTH_PX - 2 * PAD_PX;
  const plotH = LINE_H_PX - 2 * PAD_PX;
  return s(
    'svg',
    { class: 'chart', viewBox: `0 0 ${CHART_WIDTH_PX} ${LINE_H_PX}`, role: 'img', 'aria-label': title },
    s('title', {}, title),
    s('line', {
      x1: PAD_PX,
      y1: LINE_H_PX - PAD_PX,
      x2: CHART_WIDTH_PX - PAD_PX,
      y2: LINE_H_PX - PAD_PX,
      class: 'chart-axis',
    }),
    series.map((se, i) => {
      const d = se.points
        .map((p, j) => {
          const x = PAD_PX + ((p.x - x0) / spanX) * plotW;
          const y = LINE_H_PX - PAD_PX - (Math.min(se.max, Math.max(0, p.y)) / Math.max(1e-9, se.max)) * plotH;
          return `${j ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
        })
        .join(' ');
      return s(
        'g',
        {},
        s('path', { d, class: `chart-line ${se.cls}`, fill: 'none' }),
        s('text', { x: PAD_PX + i * 200, y: 16, class: `chart-legend ${se.cls}` }, `■ ${se.name} (max ${se.max})`),
      );
    }),
    s('text', { x: PAD_PX, y: LINE_H_PX - 8, class: 'chart-label' }, '0 s'),
    s(
      'text',
      { x: CHART_WIDTH_PX - PAD_PX, y: LINE_H_PX - 8, 'text-anchor': 'end', class: 'chart-label' },
      `${Math.round(spanX / 1000)} s`,
    ),
  );
}

function truncate(text: string, n: number): string {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}
