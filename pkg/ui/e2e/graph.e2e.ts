// The Graph tab against a real server: drag-to-zoom and its way back,
// readable axes, the resolution input, the comparison with an earlier
// range, and the legend's filter, copy and add-a-matcher.

import type { Page, Response } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { formatNumber } from '../src/format';
import { runs, useEnv } from './env';
import { histogramBuckets } from './target';

const param = (page: Page, key: string) => new URL(page.url()).searchParams.get(key);

describe.each(runs)('at %s', (name, prefix, withRules) => {
  const env = useEnv(name, prefix, withRules, '', { target: true });

  it('zooms to a dragged range, writes it to the URL, and undoes the zoom', async () => {
    // time() has a value at every step, however young the server's data is.
    const { page, done } = await env.visit('query?g0.expr=time()&g0.tab=graph&g0.range_input=1h');
    await page.locator('.chart canvas').waitFor();
    expect(new URL(page.url()).searchParams.get('g0.end_input')).toBeNull();
    await expect.poll(() => page.getByRole('button', { name: 'Undo zoom' }).isVisible()).toBe(false);
    const box = (await page.locator('.u-over').boundingBox())!;
    // Drag over the middle half of the plot: half the range, ending 15m before now.
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => new URL(page.url()).searchParams.get('g0.end_input')).not.toBeNull();
    const params = new URL(page.url()).searchParams;
    expect(params.get('g0.range_input')).toMatch(/^(29m\d+s|30m|30m\ds)$/);
    expect(await page.getByLabel('Range').inputValue()).toBe(params.get('g0.range_input'));
    await page.locator('.chart canvas').waitFor();
    await env.shot(page, 'graph-zoomed');

    await page.getByRole('button', { name: 'Undo zoom' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('g0.range_input')).toBe('1h');
    expect(new URL(page.url()).searchParams.get('g0.end_input')).toBeNull();
    await expect.poll(() => page.getByRole('button', { name: 'Undo zoom' }).isVisible()).toBe(false);
    await done('graph-unzoomed');
  });

  it('labels the y axis of time() with ticks that differ', async () => {
    const { page, done } = await env.visit('query?g0.expr=time()&g0.tab=graph&g0.range_input=5m');
    const chart = page.locator('.chart[data-y-ticks]');
    await chart.waitFor();
    const ticks = (await chart.getAttribute('data-y-ticks'))!.split(' ');
    expect(ticks.length).toBeGreaterThan(2);
    expect(new Set(ticks).size).toBe(ticks.length);
    expect(ticks[0]).toMatch(/^1\.\d{5,}G$/);
    await done('graph-time-axis');
  });

  it('shows the whole resolution placeholder', async () => {
    const { page, done } = await env.visit('query?g0.expr=up&g0.tab=graph&g0.range_input=1h');
    const input = page.getByLabel('Resolution');
    expect(await input.getAttribute('placeholder')).toBe('auto (14s)');
    // The placeholder's text, measured in the input's own font, fits its content box.
    const fits = await input.evaluate((el: HTMLInputElement) => {
      const cs = getComputedStyle(el);
      const ctx = document.createElement('canvas').getContext('2d')!;
      ctx.font = `${cs.fontSize} ${cs.fontFamily}`;
      const room = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
      return ctx.measureText(el.placeholder).width <= room;
    });
    expect(fits).toBe(true);
    await done('graph-resolution');
  });

  it('overlays the query one day earlier, dashed, chosen from the controls', async () => {
    const { page, done } = await env.visit('query?g0.expr=time()&g0.tab=graph&g0.range_input=5m');
    await page.locator('.chart canvas').waitFor();
    expect(await page.locator('.legend-item').count()).toBe(1);
    await page.getByLabel('Compare with').selectOption('1d');
    await expect.poll(() => param(page, 'g0.compare')).toBe('1d');
    await expect.poll(() => page.locator('.legend-item').count()).toBe(2);
    expect(await page.locator('.legend-item.past').textContent()).toContain('offset 1d');
    // time() a day earlier is 86400 less at every point.
    const box = (await page.locator('.u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const values = page.locator('.graph-tooltip .tooltip-row b');
    await expect.poll(() => values.count()).toBe(2);
    const [a, b] = (await values.allTextContents()).map(Number);
    expect(Math.abs(a - b)).toBe(86400);
    await done('graph-compare');
  });

  it('filters the legend, adds a clicked label to the query, and copies a selector', async () => {
    const two = 'label_replace(vector(1), "x", "a", "", "") or label_replace(vector(2), "x", "b", "", "")';
    const { page, done } = await env.visit(`query?g0.expr=${encodeURIComponent(two)}&g0.tab=graph&g0.range_input=5m`);
    const items = page.locator('.legend-item');
    await expect.poll(() => items.count()).toBe(2);
    await page.getByLabel('Filter series').fill('x="b"');
    await expect.poll(() => page.locator('.legend-item:not([hidden])').count()).toBe(1);
    expect(await page.locator('.legend-item:not([hidden])').textContent()).toContain('x="b"');
    await done('graph-legend-filter');

    const origin = new URL(env.server.base).origin;
    await env.browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    const v = await env.visit('query?g0.expr=up&g0.tab=graph&g0.range_input=5m');
    // up has a series per job; the self-scrape's is the one copied.
    const self = v.page.locator('.legend-item', { has: v.page.locator('.label-pair[data-name="job"][data-value="miniprom"]') });
    await self.waitFor();
    await self.locator('.copy').click();
    await expect.poll(() => v.page.evaluate(() => navigator.clipboard.readText())).toMatch(/^up\{instance="127\.0\.0\.1:\d+", job="miniprom"\}$/);
    await self.locator('.label-pair[data-name="job"]').click();
    await expect.poll(() => v.page.locator('.cm-content').textContent()).toBe('up{job="miniprom"}');
    await expect.poll(() => param(v.page, 'g0.expr')).toBe('up{job="miniprom"}');
    await v.done('graph-add-matcher');
  });

  it('draws a scraped histogram as a heatmap: its buckets, times, cells and the bucket under the pointer', async () => {
    const { page, done } = await env.visit('query');
    // The target's classic histogram, stored as a native histogram with
    // custom buckets by the scrape, with fixed counts (target.ts).
    const answer = page.waitForResponse((r) => r.url().includes('/api/v1/query_range?'));
    await page.goto(`${env.server.base}query?g0.expr=e2e_request_duration_seconds&g0.tab=graph&g0.range_input=1m`);
    const { start, end, step, series } = await rangeAnswer(await answer);
    expect(series).toHaveLength(1);
    const map = page.locator(`.heatmap-box[data-buckets="${histogramBuckets.length}"]`);
    await map.waitFor();
    expect(await page.locator('.chart').count()).toBe(0);
    expect(await map.locator('.muted').first().textContent()).toMatch(/^e2e_request_duration_seconds\{instance="127\.0\.0\.1:\d+", job="e2e"\}$/);
    expect(await map.getAttribute('data-y-labels')).toBe(histogramBuckets.map(([le]) => le).join(' '));
    const times = (await map.getAttribute('data-x-labels'))!.split(' ');
    expect(times[0]).toBe(utcClock(start));
    expect(times.at(-1)).toBe(utcClock(end));

    // A column is drawn exactly where the answer has a histogram, every
    // bucket in it, darker for a fuller bucket.
    const n = Math.floor((end - start) / step) + 1;
    const drawn = new Set(series[0].histograms!.map(([t]) => Math.round((t * 1000 - start) / step)));
    expect(drawn.size).toBeGreaterThan(0);
    const alphas = await cellAlphas(page, n, histogramBuckets.length);
    alphas.forEach((col, i) => expect({ i, drawn: col.every((a) => a > 0) }).toEqual({ i, drawn: drawn.has(i) }));
    alphas.forEach((col, i) => expect({ i, blank: col.every((a) => a === 0) }).toEqual({ i, blank: !drawn.has(i) }));
    const last = alphas[n - 1];
    const byCount = histogramBuckets.map(([, c], r) => ({ c, r })).sort((a, b) => a.c - b.c);
    const byAlpha = last.map((a, r) => ({ a, r })).sort((a, b) => a.a - b.a);
    expect(byAlpha.map((x) => x.r)).toEqual(byCount.map((x) => x.r));
    // Neighbouring cells of a bucket neither leave gaps nor overlap into darker seams.
    const first = Math.min(...drawn);
    // The lowest bucket, as a translucent one shows an overlap.
    expect(new Set(await rowAlphas(page, first / n, 0, histogramBuckets.length))).toEqual(new Set([last[0]]));

    // The middle row of five is the (0.2, 0.4] bucket, 10 at every step;
    // hover the newest column, which the scrapes have filled.
    const box = (await page.locator('.heatmap canvas').boundingBox())!;
    const plotW = box.width - heatmapLeft - 10;
    const plotH = box.height - heatmapTop - heatmapBottom;
    const x = box.x + heatmapLeft + plotW * ((n - 0.5) / n);
    await page.mouse.move(x, box.y + heatmapTop + plotH / 2);
    await expect.poll(() => page.locator('.heatmap .graph-tooltip').textContent()).toContain('10 in (0.2, 0.4]');
    await page.mouse.move(x, box.y + heatmapTop + plotH * 0.1);
    await expect.poll(() => page.locator('.heatmap .graph-tooltip').textContent()).toContain('2 in (0.8, +Inf]');
    await done('graph-heatmap');
  });

  it('draws the server\'s own exponential native histograms, one series at a time', async () => {
    const { page, done } = await env.visit('query');
    // The server's request latencies, scraped over protobuf as exponential
    // native histograms: their buckets are whatever requests took.
    const answer = page.waitForResponse((r) => r.url().includes('/api/v1/query_range?'));
    const expr = 'prometheus_http_request_duration_seconds{job="native"}';
    await page.goto(`${env.server.base}query?g0.expr=${encodeURIComponent(expr)}&g0.tab=graph&g0.range_input=1m`);
    const { series } = await rangeAnswer(await answer);
    expect(series.length).toBeGreaterThan(0);
    const map = page.locator('.heatmap-box[data-buckets]');
    await map.waitFor();
    // The rows are the union of the series' buckets over the range.
    const rows = (s: RangeSeries) => new Set(s.histograms!.flatMap(([, h]) => (h.buckets ?? []).map((b) => `${b[0]}|${b[1]}|${b[2]}`))).size;
    const picker = page.getByLabel('Histogram series');
    expect(await picker.count()).toBe(series.length > 1 ? 1 : 0);
    const shown = series.length > 1 ? series.length - 1 : 0;
    if (series.length > 1) {
      expect(await picker.locator('option').count()).toBe(series.length);
      await picker.selectOption(String(shown));
    }
    await expect.poll(() => map.getAttribute('data-buckets')).toBe(String(rows(series[shown])));
    const labels = (await map.getAttribute('data-y-labels'))!.split(' ');
    const uppers = [...new Set(series[shown].histograms!.flatMap(([, h]) => (h.buckets ?? []).map((b) => Number(b[2]))))].sort((a, b) => a - b);
    expect(labels[0]).toBe(formatNumber(uppers[0]));
    await done('graph-heatmap-native');
  });
});

/** The heatmap's margins around its plot, in CSS pixels (heatmap.ts). */
const heatmapLeft = 120;
const heatmapTop = 8;
const heatmapBottom = 34;

type RangeSeries = { metric: Record<string, string>; histograms?: [number, { buckets?: [number, string, string, string][] }][] };

/** rangeAnswer reads the range query the page sent and the server's answer. */
async function rangeAnswer(r: Response): Promise<{ start: number; end: number; step: number; series: RangeSeries[] }> {
  expect(r.status()).toBe(200);
  const q = new URL(r.url()).searchParams;
  const [start, end, step] = ['start', 'end', 'step'].map((k) => Number(q.get(k)) * 1000);
  const body = (await r.json()) as { data: { resultType: string; result: RangeSeries[] } };
  expect(body.data.resultType).toBe('matrix');
  return { start, end, step, series: body.data.result };
}

/** utcClock is a time's HH:MM:SS in UTC, as the heatmap's x axis writes it. */
const utcClock = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(11, 19);

/** cellAlphas reads the canvas's opacity at the middle of every cell, by column and then row from the bottom. */
function cellAlphas(page: Page, columns: number, rows: number): Promise<number[][]> {
  return page.locator('.heatmap canvas').evaluate(
    (c: HTMLCanvasElement, [columns, rows, left, top, bottom]) => {
      const dpr = c.width / c.clientWidth;
      const ctx = c.getContext('2d')!;
      const plotW = c.clientWidth - left - 10;
      const plotH = c.clientHeight - top - bottom;
      return Array.from({ length: columns }, (_, i) =>
        Array.from({ length: rows }, (_, r) => {
          const x = Math.floor((left + plotW * ((i + 0.5) / columns)) * dpr);
          const y = Math.floor((top + plotH - plotH * ((r + 0.5) / rows)) * dpr);
          return ctx.getImageData(x, y, 1, 1).data[3];
        }),
      );
    },
    [columns, rows, heatmapLeft, heatmapTop, heatmapBottom],
  );
}

/** rowAlphas reads the canvas's opacity along the middle of one row, from a
 * fraction of the plot's width to its right edge. */
function rowAlphas(page: Page, from: number, row: number, rows: number): Promise<number[]> {
  return page.locator('.heatmap canvas').evaluate(
    (c: HTMLCanvasElement, [from, row, rows, left, top, bottom]) => {
      const dpr = c.width / c.clientWidth;
      const plotW = c.clientWidth - left - 10;
      const plotH = c.clientHeight - top - bottom;
      const x0 = Math.ceil((left + plotW * from) * dpr) + 1;
      const x1 = Math.floor((left + plotW) * dpr) - 1;
      const y = Math.floor((top + plotH - plotH * ((row + 0.5) / rows)) * dpr);
      const data = c.getContext('2d')!.getImageData(x0, y, x1 - x0, 1).data;
      return Array.from({ length: x1 - x0 }, (_, i) => data[i * 4 + 3]);
    },
    [from, row, rows, heatmapLeft, heatmapTop, heatmapBottom],
  );
}
