// A graph of 1,000 series × 251 points must draw without freezing the page.
// The range query is answered by the test with synthetic data, so the size
// does not depend on what the server has scraped. The draw time is printed,
// never asserted: timings belong in a benchmark's report, not in a pass/fail.

import { resolve } from 'node:path';
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

function matrix(start: number, end: number, step: number): string {
  const result = [];
  for (let s = 0; s < seriesCount; s++) {
    const values: [number, string][] = [];
    let v = 100 + s;
    for (let t = start; t <= end + 1e-9; t += step) {
      v += Math.sin(t / 600 + s) * 5;
      values.push([Math.round(t * 1000) / 1000, v.toFixed(3)]);
    }
    result.push({ metric: { __name__: 'bench_series', instance: `host-${s}:9100`, job: 'bench' }, values });
  }
  return JSON.stringify({ status: 'success', data: { resultType: 'matrix', result } });
}

it(`draws ${seriesCount} series without freezing`, async () => {
  const { page, errors } = await browser.newPage();
  await page.addInitScript(() => {
    const w = window as unknown as { longestTask: number };
    w.longestTask = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longestTask = Math.max(w.longestTask, e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
  await page.route('**/api/v1/query_range?*', (route) => {
    const q = new URL(route.request().url()).searchParams;
    const body = matrix(Number(q.get('start')), Number(q.get('end')), Number(q.get('step')));
    return route.fulfill({ status: 200, contentType: 'application/json', body });
  });
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

  const longest = await page.evaluate(() => (window as unknown as { longestTask: number }).longestTask);
  const file = resolve(import.meta.dirname, '../test-results/screenshots/graph-1000-series.png');
  await page.screenshot({ path: file });
  console.log(
    `graph of ${seriesCount} series x 251 points: ${drawMs.toFixed(1)} ms from data to first draw; ` +
      `longest main-thread task ${longest.toFixed(0)} ms\nscreenshot: ${file}`,
  );
  expect(errors).toEqual([]);
});
