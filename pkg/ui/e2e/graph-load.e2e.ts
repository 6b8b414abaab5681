// Graphs of data made by the test: range queries are answered in the browser
// with synthetic results, so shapes and sizes do not depend on what the
// server has scraped.
//
// A graph of 1,000 series × 251 points, and a Targets page of 500 targets,
// must draw without freezing the page.
// Its draw time is printed, never asserted: timings belong in a benchmark's
// report, not in a pass/fail.

import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launch, type Browser } from './browser';
import { startServer, type Server } from './server';

const seriesCount = 1000;

let server: Server;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(''), launch()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

type Value = (s: number, t: number) => number;

function matrix(q: URLSearchParams, count: number, value: Value): string {
  const [start, end, step] = ['start', 'end', 'step'].map((k) => Number(q.get(k)));
  const result = [];
  for (let s = 0; s < count; s++) {
    const values: [number, string][] = [];
    for (let t = start; t <= end + 1e-9; t += step) values.push([Math.round(t * 1000) / 1000, String(value(s, t))]);
    result.push({ metric: { __name__: 'bench_series', instance: `host-${s}:9100`, job: 'bench' }, values });
  }
  return JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } });
}

/** answerRanges makes the page's range queries return count series of value. */
async function answerRanges(page: Page, count: number, value: Value): Promise<void> {
  await page.route('**/api/v1/query_range?*', (route) => {
    const body = matrix(new URL(route.request().url()).searchParams, count, value);
    return route.fulfill({ status: 200, contentType: 'application/json', body });
  });
}

it('stacks series, hovers unstacked values, and switches to local time', async () => {
  const { page, errors } = await browser.newPage();
  await answerRanges(page, 3, (s) => s + 1);
  await page.goto(`${server.base}query?g0.expr=bench_series&g0.tab=0&g0.stacked=1`);
  await page.locator('.chart canvas').waitFor();
  expect(await page.getByRole('checkbox', { name: 'Stacked' }).isChecked()).toBe(true);
  const box = (await page.locator('.u-over').boundingBox())!;
  // The top of the stack is 1+2+3 = 6; hovering there lists each series' own value.
  await page.mouse.move(box.x + box.width / 2, box.y + 5);
  const tooltip = page.locator('.graph-tooltip');
  await expect.poll(() => tooltip.isVisible()).toBe(true);
  expect(await tooltip.locator('.tooltip-row b').allTextContents()).toEqual(['3', '2', '1']);
  expect(await tooltip.locator('.muted').first().textContent()).toMatch(/ UTC$/);

  await page.getByRole('checkbox', { name: 'UTC' }).uncheck();
  await page.locator('.chart canvas').waitFor();
  // The chart is redrawn for local time and the tooltip goes with the old
  // one: hover again until it is back. The check must not wait on its own
  // (a locator's textContent would block on a missing tooltip forever).
  await expect
    .poll(
      async () => {
        await page.mouse.move(box.x - 10, box.y - 10);
        await page.mouse.move(box.x + box.width / 2 + 1, box.y + 5);
        const times = await tooltip.locator('.muted').allTextContents();
        return times.length > 0 && !times[0].includes('UTC');
      },
      { timeout: 10_000 },
    )
    .toBe(true);
  await page.getByRole('checkbox', { name: 'Stacked' }).uncheck();
  await expect.poll(() => new URL(page.url()).searchParams.get('g0.display_mode')).toBe('lines');
  await page.close();
  expect(errors).toEqual([]);
});

it(`draws ${seriesCount} series without freezing`, async () => {
  const { page, errors } = await browser.newPage();
  await page.addInitScript(() => {
    const w = window as unknown as { longestTask: number };
    w.longestTask = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longestTask = Math.max(w.longestTask, e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
  // A random-looking walk per series, so the lines cross as real ones do.
  await answerRanges(page, seriesCount, (s, t) => 100 + s + 40 * Math.sin(t / 600 + s));
  await page.goto(`${server.base}query?g0.expr=bench_series&g0.tab=graph&g0.range_input=250m&g0.res_type=custom&g0.res_step=60`);
  const chart = page.locator('.chart[data-draw-ms]');
  await chart.waitFor();
  const drawMs = Number(await chart.getAttribute('data-draw-ms'));
  expect(await page.locator('.legend-item').count()).toBe(seriesCount);

  // The page still answers: hovering shows values, and a legend click redraws.
  const box = (await page.locator('.u-over').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await expect.poll(() => page.locator('.graph-tooltip').isVisible()).toBe(true);
  await page.locator('.legend-item').nth(10).click();
  await expect.poll(() => page.locator('.legend-item.hidden').count()).toBe(seriesCount - 1);
  // The legend filter narrows 1,000 names to the one asked for, and the chart with it.
  await page.getByLabel('Filter series').fill('host-12:');
  await expect.poll(() => page.locator('.legend-item:not([hidden])').count()).toBe(1);
  expect(await page.locator('.legend-item:not([hidden])').textContent()).toContain('instance="host-12:9100"');

  const longest = await page.evaluate(() => (window as unknown as { longestTask: number }).longestTask);
  const file = resolve(import.meta.dirname, '../test-results/screenshots/graph-1000-series.png');
  await page.screenshot({ path: file });
  console.log(
    `graph of ${seriesCount} series x 251 points: ${drawMs.toFixed(1)} ms from data to first draw; ` +
      `longest main-thread task ${longest.toFixed(0)} ms\nscreenshot: ${file}`,
  );
  expect(errors).toEqual([]);
});

it('lists 500 targets and filters them without freezing', async () => {
  const { page, errors } = await browser.newPage();
  await page.addInitScript(() => {
    const w = window as unknown as { longestTask: number };
    w.longestTask = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longestTask = Math.max(w.longestTask, e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
  // 500 targets in 10 pools, one in ten down.
  const now = new Date().toISOString();
  const activeTargets = Array.from({ length: 500 }, (_, i) => ({
    discoveredLabels: { __address__: `host-${i}:9100` },
    labels: { instance: `host-${i}:9100`, job: `pool-${i % 10}`, zone: `z${i % 3}` },
    scrapePool: `pool-${i % 10}`,
    scrapeUrl: `http://host-${i}:9100/metrics`,
    globalUrl: `http://host-${i}:9100/metrics`,
    lastError: i % 10 === 3 ? 'connection refused' : '',
    lastScrape: now,
    lastScrapeDuration: 0.01,
    health: i % 10 === 3 ? 'down' : 'up',
    scrapeInterval: '15s',
    scrapeTimeout: '10s',
  }));
  await page.route('**/api/v1/targets?*', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ status: 'success', data: { activeTargets, droppedTargets: [] } }) }),
  );
  await page.goto(`${server.base}targets`);
  await expect.poll(() => page.locator('.targets tbody tr').count()).toBe(500);
  await page.getByLabel('Filter targets').fill('connection refused');
  await expect.poll(() => page.locator('.targets tbody tr').count()).toBe(50);
  await page.getByLabel('Filter targets').fill('');
  await page.getByLabel('Scrape pool').selectOption('pool-7');
  await expect.poll(() => page.locator('.targets tbody tr').count()).toBe(50);
  const longest = await page.evaluate(() => (window as unknown as { longestTask: number }).longestTask);
  console.log(`targets page with 500 targets: longest main-thread task ${longest.toFixed(0)} ms`);
  await page.close();
  expect(errors).toEqual([]);
});
