// The Graph tab's chart, drawn with uPlot. This module (and uPlot with its
// CSS) is loaded only when a Graph tab first opens, to keep the Query page's
// first load small.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { h, replace } from '../dom';
import { formatTicks, formatTimeMs, parseSampleValue } from '../format';
import { seriesName, seriesNameNode } from '../labels';
import { cssVar } from '../settings';
import type { RangeSeries } from './types';

export interface GraphOptions {
  /** Query range and step in Unix milliseconds, as sent to query_range. */
  start: number;
  end: number;
  step: number;
  stacked: boolean;
  yZero: boolean;
  utc: boolean;
  /** onZoom receives the time range, in Unix milliseconds, that the user
   * selected by dragging over the plot. */
  onZoom?: (start: number, end: number) => void;
  /** The same query an offset earlier, its timestamps already moved onto
   * this range; drawn dashed in its current series' colours. */
  compare?: { series: RangeSeries[]; label: string };
  /** onAddMatcher receives a label pair clicked in the legend. */
  onAddMatcher?: (name: string, value: string) => void;
}

export interface Graph {
  /** Milliseconds from receiving the data to the first complete draw. */
  drawn: Promise<number>;
  destroy(): void;
}

const height = 320;
/** Hover markers are one DOM node per series; past this many they cost more than they tell. */
const maxCursorPoints = 20;
/** Legends longer than this show names as plain text. */
const plainLegendAfter = 100;
/** How many series the hover box lists, nearest to the pointer first. */
const maxHoverRows = 8;

/** timeAxis is uPlot's default tick format table in 24-hour, month-first
 * form, matching the timestamps elsewhere in the UI. Columns: smallest tick
 * step in seconds, tick format, then formats added when the year, month,
 * day, hour, minute or second rolls over, then 1 for "append". The first
 * tick gets the year-rollover form; it is kept as short as the day-rollover
 * one, since a wide first label ran into its neighbour. */
const timeAxis: (string | number | null)[][] = [
  [3600 * 24 * 365, '{YYYY}', null, null, null, null, null, null, 1],
  [3600 * 24 * 28, '{MMM}', '\n{YYYY}', null, null, null, null, null, 1],
  [3600 * 24, '{MM}-{DD}', '\n{YYYY}', null, null, null, null, null, 1],
  [3600, '{HH}:{mm}', '\n{MM}-{DD}', null, '\n{MM}-{DD}', null, null, null, 1],
  [60, '{HH}:{mm}', '\n{MM}-{DD}', null, '\n{MM}-{DD}', null, null, null, 1],
  [1, ':{ss}', '\n{MM}-{DD} {HH}:{mm}', null, '\n{MM}-{DD} {HH}:{mm}', null, '\n{HH}:{mm}', null, 1],
  [0.001, ':{ss}.{fff}', '\n{MM}-{DD} {HH}:{mm}', null, '\n{MM}-{DD} {HH}:{mm}', null, '\n{HH}:{mm}', null, 1],
];

/** Minimum pixels between x ticks: room for a "MM-DD HH:mm" label beside the next. */
const xTickSpace = 90;
/** An axis font's average digit width, to size the y axis to its labels. */
const yCharPx = 7.5;

/** Series lightness: darker lines on a light page, lighter on a dark one. */
let lightness = 42;

/** color spreads hues by the golden angle, so neighbours differ clearly. */
function color(i: number, alpha = 1): string {
  return `hsla(${Math.round((i * 137.508) % 360)}, 70%, ${lightness}%, ${alpha})`;
}

/** align puts every series on the query's step grid; Prometheus returns
 * samples at start + k·step, and gaps where a series had none. */
export function align(series: RangeSeries[], o: GraphOptions): uPlot.AlignedData {
  const n = Math.floor((o.end - o.start) / o.step) + 1;
  const startS = o.start / 1000;
  const stepS = o.step / 1000;
  const xs = Array.from({ length: n }, (_, i) => startS + i * stepS);
  const ys = series.map((s) => {
    const y: (number | null)[] = new Array(n).fill(null);
    for (const [t, v] of s.values ?? []) {
      const i = Math.round((t - startS) / stepS);
      if (i >= 0 && i < n) y[i] = parseSampleValue(v);
    }
    return y;
  });
  return [xs, ...ys];
}

/** stack sums each of the first n series onto the ones before it; a gap
 * counts as zero below others but stays a gap in its own line. Series past n
 * (the comparison) are left as they are. */
function stack(data: uPlot.AlignedData, n: number): uPlot.AlignedData {
  const acc = new Array<number>(data[0].length).fill(0);
  const out: uPlot.AlignedData = [data[0]];
  data.slice(1).forEach((ys, k) => {
    out.push(k < n ? Array.from(ys, (v, i) => (v === null || v === undefined ? null : (acc[i] += v))) : ys);
  });
  return out;
}

/** A drawn series: its labels, its colour's index, and whether it is the comparison. */
interface Drawn {
  metric: RangeSeries['metric'];
  color: number;
  past: boolean;
}

export function drawGraph(chartEl: HTMLElement, legendEl: HTMLElement, series: RangeSeries[], o: GraphOptions): Graph {
  const t0 = performance.now();
  lightness = cssVar('color-scheme') === 'dark' ? 62 : 42;
  const axisColor = cssVar('--fg');
  const grid = { stroke: cssVar('--grid'), width: 1 };
  const past = o.compare?.series ?? [];
  const byName = new Map(series.map((s, i) => [seriesName(s.metric), i]));
  const drawnSeries: Drawn[] = [
    ...series.map((s, i) => ({ metric: s.metric, color: i, past: false })),
    ...past.map((s, k) => ({ metric: s.metric, color: byName.get(seriesName(s.metric)) ?? series.length + k, past: true })),
  ];
  const raw = align([...series, ...past], o);
  const data = o.stacked ? stack(raw, series.length) : raw;
  let resolveDrawn: (ms: number) => void;
  const drawn = new Promise<number>((r) => (resolveDrawn = r));

  const tooltip = h('div', { className: 'graph-tooltip', hidden: true });
  const opts: uPlot.Options = {
    width: Math.max(chartEl.clientWidth, 300),
    height,
    legend: { show: false },
    tzDate: o.utc ? (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC') : (ts) => new Date(ts * 1000),
    cursor: {
      points: { show: drawnSeries.length <= maxCursorPoints },
      // Dragging selects a time range; onZoom turns it into a new query.
      drag: { x: true, y: false, setScale: false },
      // Snap to the nearest sample within a few pixels, so sparse series
      // can be hovered too.
      hover: { skip: [null, undefined], prox: 16 },
    },
    scales: {
      x: { time: true, range: [o.start / 1000, o.end / 1000] },
      y: {
        range: (_u, min, max) => {
          const [lo, hi] = uPlot.rangeNum(min ?? 0, max ?? 1, 0.1, true);
          return o.yZero ? [Math.min(0, lo ?? 0), Math.max(0, hi ?? 1)] : [lo, hi];
        },
      },
    },
    axes: [
      { values: timeAxis, space: xTickSpace, stroke: axisColor, grid, ticks: grid },
      {
        stroke: axisColor,
        grid,
        ticks: grid,
        values: (_u, splits) => {
          const ticks = formatTicks(splits);
          // The canvas's text is invisible to assistive tools (and tests); say it here.
          chartEl.dataset.yTicks = ticks.join(' ');
          return ticks;
        },
        // Wide enough for the longest label, which formatTicks may have lengthened.
        size: (_u, values) => Math.max(50, Math.ceil(Math.max(0, ...(values ?? []).map((v) => v.length)) * yCharPx) + 16),
      },
    ],
    series: [
      {},
      ...drawnSeries.map((d) => ({
        label: seriesName(d.metric) + (d.past ? ` ${o.compare!.label}` : ''),
        stroke: color(d.color, d.past ? 0.75 : 1),
        width: 1.25,
        dash: d.past ? [6, 4] : undefined,
        fill: o.stacked && !d.past ? color(d.color, 0.35) : undefined,
        points: { filter: isolated },
      })),
    ],
    bands: o.stacked ? series.slice(1).map((_, i) => ({ series: [i + 2, i + 1] as [number, number] })) : undefined,
    hooks: {
      draw: [
        () => {
          const ms = performance.now() - t0;
          chartEl.dataset.drawMs = ms.toFixed(1);
          resolveDrawn(ms);
        },
      ],
      setCursor: [(u) => hover(u, tooltip, raw, o.utc, drawnSeries)],
      setSelect: [
        (u) => {
          if (u.select.width < 2) return;
          const start = u.posToVal(u.select.left, 'x') * 1000;
          const end = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          o.onZoom?.(start, end);
        },
      ],
    },
  };
  const plot = new uPlot(opts, data, chartEl);
  plot.over.appendChild(tooltip);
  drawLegend(legendEl, drawnSeries, plot, o);

  const resize = new ResizeObserver(() => {
    const width = Math.max(chartEl.clientWidth, 300);
    if (width !== plot.width) plot.setSize({ width, height });
  });
  resize.observe(chartEl);
  return {
    drawn,
    destroy() {
      resize.disconnect();
      plot.destroy();
      legendEl.replaceChildren();
    },
  };
}

/** isolated picks the samples without a neighbour, which a line cannot
 * show, so they are drawn as points; the rest is left to uPlot. */
function isolated(u: uPlot, i: number, show: boolean): number[] | null {
  if (show) return null;
  const ys = u.data[i];
  const last = ys.length - 1;
  const out: number[] = [];
  for (let j = 0; j <= last; j++) {
    // Explicit bounds: reading ys[-1] would push V8 off its fast array path.
    if (ys[j] != null && (j === 0 || ys[j - 1] == null) && (j === last || ys[j + 1] == null)) out.push(j);
  }
  return out.length ? out : null;
}

/** hover lists the values at the pointer's time for the visible series
 * nearest to the pointer, with unstacked values. */
function hover(u: uPlot, tooltip: HTMLElement, raw: uPlot.AlignedData, utc: boolean, drawnSeries: Drawn[]): void {
  if (u.cursor.idx == null || u.cursor.left === undefined || u.cursor.left < 0) {
    tooltip.hidden = true;
    return;
  }
  const y = u.posToVal(u.cursor.top ?? 0, 'y');
  const near: { i: number; j: number; v: number; dist: number }[] = [];
  for (let i = 1; i < u.data.length; i++) {
    // Each series' own nearest sample, as the cursor's hover options found it.
    const j = u.cursor.idxs?.[i];
    if (j == null || !u.series[i].show) continue;
    const shown = u.data[i][j];
    const v = raw[i][j];
    if (shown == null || v == null) continue;
    near.push({ i, j, v, dist: Math.abs(shown - y) });
  }
  if (near.length === 0) {
    tooltip.hidden = true;
    return;
  }
  near.sort((a, b) => a.dist - b.dist);
  replace(
    tooltip,
    h('div', { className: 'muted' }, formatTimeMs(raw[0][near[0].j] * 1000, utc) + (utc ? ' UTC' : '')),
    near.slice(0, maxHoverRows).map(({ i, v }) =>
      h('div', { className: 'tooltip-row' }, h('span', { className: 'swatch', style: `background:${color(drawnSeries[i - 1].color)}` }), h('b', null, String(v)), ' ', u.series[i].label ?? ''),
    ),
    near.length > maxHoverRows ? h('div', { className: 'muted' }, `… ${near.length - maxHoverRows} more`) : null,
  );
  tooltip.hidden = false;
  // Keep the box inside the plot: flip to the left of the pointer past the middle.
  const left = u.cursor.left;
  const flip = left > u.over.clientWidth / 2;
  tooltip.style.left = flip ? '' : `${left + 12}px`;
  tooltip.style.right = flip ? `${u.over.clientWidth - left + 12}px` : '';
  tooltip.style.top = `${Math.min(u.cursor.top ?? 0, u.over.clientHeight / 2)}px`;
}

/** drawLegend lists every series, with a filter above. A click shows only
 * that series (or all again); a click with Ctrl, Cmd or Shift toggles one; a
 * click on a label pair adds it to the query as a matcher; "copy" copies
 * the series' selector. */
function drawLegend(legendEl: HTMLElement, drawnSeries: Drawn[], plot: uPlot, o: GraphOptions): void {
  // Styled names cost a dozen nodes each; past a screenful plain text keeps
  // a 1,000-series legend cheap.
  const plain = drawnSeries.length > plainLegendAfter;
  const names = drawnSeries.map((d) => seriesName(d.metric) + (d.past ? ` ${o.compare!.label}` : ''));
  const items = drawnSeries.map((d, i) =>
    h(
      'li',
      { className: `legend-item${d.past ? ' past' : ''}`, 'data-series': i + 1 },
      h('span', { className: 'swatch', style: `background:${color(d.color)}` }),
      h('span', { className: 'legend-name' }, plain ? names[i] : [seriesNameNode(d.metric), d.past ? ` ${o.compare!.label}` : null]),
      h('span', { className: 'copy', role: 'button', tabindex: 0, title: 'Copy the series selector', 'aria-label': 'Copy selector' }, 'copy'),
    ),
  );
  const sync = () => items.forEach((el, i) => el.classList.toggle('hidden', !plot.series[i + 1].show));
  const filter = h('input', {
    type: 'search',
    className: 'legend-filter',
    placeholder: `Filter ${drawnSeries.length} series`,
    'aria-label': 'Filter series',
    oninput: () => {
      const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      const lower = names.map((n) => n.toLowerCase());
      plot.batch(() => {
        items.forEach((el, i) => {
          const match = words.every((w) => lower[i].includes(w));
          el.hidden = !match;
          if (plot.series[i + 1].show !== match) plot.setSeries(i + 1, { show: match });
        });
      });
      sync();
    },
  });
  legendEl.replaceChildren(
    filter,
    h('p', { className: 'legend-hint muted' }, 'Click a series to show only it, a label to add it to the query, "copy" to copy its selector.'),
    h('ul', { className: 'legend' }, items),
  );
  legendEl.onclick = (e) => {
    const target = e.target as Element;
    const item = target.closest<HTMLElement>('.legend-item');
    if (!item) return;
    const k = Number(item.dataset.series);
    if (target.closest('.copy')) {
      const selector = seriesName(drawnSeries[k - 1].metric);
      void navigator.clipboard.writeText(selector).then(() => {
        item.dataset.copied = 'true';
        setTimeout(() => delete item.dataset.copied, 1500);
      });
      return;
    }
    const pair = target.closest<HTMLElement>('.label-pair');
    if (pair && o.onAddMatcher) {
      o.onAddMatcher(pair.dataset.name!, pair.dataset.value!);
      return;
    }
    plot.batch(() => {
      if (e.ctrlKey || e.metaKey || e.shiftKey) {
        plot.setSeries(k, { show: !plot.series[k].show });
        return;
      }
      const isolated = plot.series.every((s, i) => i === 0 || s.show === (i === k));
      for (let i = 1; i < plot.series.length; i++) plot.setSeries(i, { show: isolated || i === k });
    });
    sync();
  };
}
