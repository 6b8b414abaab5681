// Native histograms over time as a heatmap: one column per step, one row per
// bucket, darker where the bucket holds more. Loaded on demand, like the
// chart, only when a range result holds native histograms.

import { h, replace } from '../dom';
import { formatNumber, formatTimeMs, parseValue } from '../format';
import { seriesName } from '../labels';
import { cssVar } from '../settings';
import { bucketRange } from './table';
import type { RangeSeries } from './types';

export interface HeatmapOptions {
  start: number;
  end: number;
  step: number;
  utc: boolean;
}

type Bucket = [number, string, string, string];

const height = 320;
const left = 120;
const bottom = 34;
const top = 8;

/** buckets lists every bucket seen in the series, lowest first; schemas
 * may change over time, so the rows are the union of all samples' buckets. */
export function bucketRows(s: RangeSeries): Bucket[] {
  const seen = new Map<string, Bucket>();
  for (const [, hg] of s.histograms ?? []) for (const b of hg.buckets ?? []) seen.set(`${b[0]}|${b[1]}|${b[2]}`, b);
  // Custom buckets run from -Inf and up to +Inf.
  return [...seen.values()].sort((a, b) => parseValue(a[1]) - parseValue(b[1]) || parseValue(a[2]) - parseValue(b[2]));
}

export function drawHeatmap(el: HTMLElement, series: RangeSeries[], o: HeatmapOptions): { destroy(): void } {
  let current = 0;
  const picker =
    series.length > 1
      ? h(
          'select',
          { 'aria-label': 'Histogram series', onchange: () => ((current = Number(picker!.value)), draw()) },
          series.map((s, i) => h('option', { value: String(i) }, seriesName(s.metric))),
        )
      : null;
  const canvas = h('canvas', { className: 'heatmap-canvas' });
  const tooltip = h('div', { className: 'graph-tooltip', hidden: true });
  const box = h('div', { className: 'heatmap' }, canvas, tooltip);
  replace(el, picker ? h('label', null, 'Histogram ', picker) : h('div', { className: 'muted' }, seriesName(series[0].metric)), box);

  let cells: { rows: Bucket[]; n: number; w: number; rowH: number; values: Map<string, number>[] } | undefined;
  const draw = () => {
    const s = series[current];
    const rows = bucketRows(s);
    const n = Math.floor((o.end - o.start) / o.step) + 1;
    const width = Math.max(box.clientWidth, 300);
    const dpr = window.devicePixelRatio || 1;
    canvas.width = width * dpr;
    canvas.height = height * dpr;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    const ctx = canvas.getContext('2d')!;
    ctx.scale(dpr, dpr);
    ctx.clearRect(0, 0, width, height);
    const plotW = width - left - 10;
    const plotH = height - top - bottom;
    const w = plotW / n;
    const rowH = rows.length ? plotH / rows.length : plotH;
    // One map per step, bucket key → value.
    const values: Map<string, number>[] = Array.from({ length: n }, () => new Map());
    let max = 0;
    for (const [t, hg] of s.histograms ?? []) {
      const i = Math.round((t * 1000 - o.start) / o.step);
      if (i < 0 || i >= n) continue;
      for (const b of hg.buckets ?? []) {
        const v = Number(b[3]);
        values[i].set(`${b[0]}|${b[1]}|${b[2]}`, v);
        if (v > max) max = v;
      }
    }
    const fg = cssVar('--fg');
    const hue = cssVar('color-scheme') === 'dark' ? '200, 90%, 60%' : '215, 80%, 35%';
    rows.forEach((b, r) => {
      const key = `${b[0]}|${b[1]}|${b[2]}`;
      const y = top + plotH - (r + 1) * rowH;
      for (let i = 0; i < n; i++) {
        const v = values[i].get(key);
        if (!v) continue;
        // Log scale: a bucket with a tenth of the peak still shows.
        const a = max > 0 ? 0.12 + 0.88 * (Math.log1p(v) / Math.log1p(max)) : 0;
        ctx.fillStyle = `hsla(${hue}, ${a.toFixed(3)})`;
        // Whole pixels from one cell's edge to the next's: no gaps between
        // neighbours, and no overlap, which the translucent fill would darken into seams.
        const x0 = Math.floor(left + i * w);
        const y0 = Math.floor(y);
        ctx.fillRect(x0, y0, Math.floor(left + (i + 1) * w) - x0, Math.floor(y + rowH) - y0);
      }
    });
    ctx.fillStyle = fg;
    ctx.font = '11px system-ui, sans-serif';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    const every = Math.max(1, Math.ceil(rows.length / Math.floor(plotH / 16)));
    const yLabels: string[] = [];
    rows.forEach((b, r) => {
      if (r % every !== 0) return;
      yLabels.push(formatNumber(parseValue(b[2])));
      ctx.fillText(`≤ ${yLabels[yLabels.length - 1]}`, left - 6, top + plotH - (r + 0.5) * rowH);
    });
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const labels = Math.max(2, Math.floor(plotW / 140));
    const xLabels: string[] = [];
    for (let k = 0; k <= labels; k++) {
      const t = o.start + ((o.end - o.start) * k) / labels;
      // The last label ends at the plot's edge instead of running past the canvas.
      ctx.textAlign = k === labels ? 'right' : 'center';
      xLabels.push(formatTimeMs(t, o.utc).slice(11, 19));
      ctx.fillText(xLabels[k], left + (plotW * k) / labels, top + plotH + 6);
    }
    el.dataset.buckets = String(rows.length);
    // The canvas's text is out of a test's reach; the drawn bucket bounds
    // (lowest first) and times are kept beside it, as the graph's y ticks are.
    el.dataset.yLabels = yLabels.join(' ');
    el.dataset.xLabels = xLabels.join(' ');
    cells = { rows, n, w, rowH, values };
  };

  canvas.addEventListener('mousemove', (e) => {
    if (!cells) return;
    const rect = canvas.getBoundingClientRect();
    const x = e.clientX - rect.left - left;
    const plotH = height - top - bottom;
    const y = top + plotH - (e.clientY - rect.top);
    const i = Math.floor(x / cells.w);
    const r = Math.floor(y / cells.rowH);
    if (i < 0 || i >= cells.n || r < 0 || r >= cells.rows.length) {
      tooltip.hidden = true;
      return;
    }
    const b = cells.rows[r];
    const v = cells.values[i].get(`${b[0]}|${b[1]}|${b[2]}`) ?? 0;
    replace(tooltip, h('div', { className: 'muted' }, formatTimeMs(o.start + i * o.step, o.utc) + (o.utc ? ' UTC' : '')), h('div', null, h('b', null, String(v)), ` in ${bucketRange(b)}`));
    tooltip.hidden = false;
    tooltip.style.left = `${Math.min(e.clientX - rect.left + 12, rect.width - 220)}px`;
    tooltip.style.top = `${e.clientY - rect.top + 12}px`;
  });
  canvas.addEventListener('mouseleave', () => (tooltip.hidden = true));
  draw();
  const resize = new ResizeObserver(() => draw());
  resize.observe(box);
  return {
    destroy() {
      resize.disconnect();
      el.replaceChildren();
    },
  };
}
