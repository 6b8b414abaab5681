// The Graph tab against a real server: drag-to-zoom and its way back,
// readable axes, the resolution input, the comparison with an earlier
// range, and the legend's filter, copy and add-a-matcher.

import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { runs, useEnv } from './env';

const param = (page: Page, key: string) => new URL(page.url()).searchParams.get(key);

describe.each(runs)('at %s', (name, prefix, withRules) => {
  const env = useEnv(name, prefix, withRules);

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
    await v.page.locator('.legend-item').first().waitFor();
    await v.page.locator('.legend-item .copy').first().click();
    await expect.poll(() => v.page.evaluate(() => navigator.clipboard.readText())).toMatch(/^up\{instance="127\.0\.0\.1:\d+", job="miniprom"\}$/);
    await v.page.locator('.legend-item .label-pair[data-name="job"]').first().click();
    await expect.poll(() => v.page.locator('.cm-content').textContent()).toBe('up{job="miniprom"}');
    await expect.poll(() => param(v.page, 'g0.expr')).toBe('up{job="miniprom"}');
    await v.done('graph-add-matcher');
  });

  it('draws native histograms as a heatmap, with the bucket under the pointer', async () => {
    const { page, done } = await env.visit('query');
    // Synthetic: the test server's own metrics are scraped as classic histograms.
    await page.route('**/api/v1/query_range?*', (route) => {
      const q = new URL(route.request().url()).searchParams;
      const [start, end, step] = ['start', 'end', 'step'].map((k) => Number(q.get(k)));
      const histograms: [number, unknown][] = [];
      for (let t = start, i = 0; t <= end + 1e-9; t += step, i++) {
        const buckets = [[0, '0.1', '0.2', String(1 + (i % 3))], [0, '0.2', '0.4', '10'], [0, '0.4', '0.8', String(i)]];
        histograms.push([t, { count: String(11 + i), sum: '3.5', buckets }]);
      }
      const result = [{ metric: { __name__: 'rpc_duration_seconds', job: 'api' }, histograms }];
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } }) });
    });
    await page.goto(`${env.server.base}query?g0.expr=rpc_duration_seconds&g0.tab=graph&g0.range_input=10m`);
    const map = page.locator('.heatmap-box[data-buckets="3"]');
    await map.waitFor();
    expect(await page.locator('.chart').count()).toBe(0);
    const box = (await page.locator('.heatmap canvas').boundingBox())!;
    // The middle row of three is the (0.2, 0.4] bucket, 10 at every step.
    const plotTop = box.y + 8;
    const plotH = box.height - 8 - 34;
    await page.mouse.move(box.x + box.width / 2, plotTop + plotH / 2);
    await expect.poll(() => page.locator('.heatmap .graph-tooltip').textContent()).toContain('10 in (0.2, 0.4]');
    await done('graph-heatmap');
  });
});
