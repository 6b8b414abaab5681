// Graphs of many series and a Targets page of many targets, from a real
// miniprom: the series are the e2e target's (target.ts) taken at the range's
// end with the @ modifier, so every step has a value however young the
// server's data is, and the shapes do not depend on when the scrapes ran.
//
// A graph of 1,000 series × 251 points, and a Targets page of 500 targets,
// must draw without freezing the page.
// Its draw time is printed, never asserted: timings belong in a benchmark's
// report, not in a pass/fail.

import { resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launch, type Browser } from './browser';
import { startServer, type Server } from './server';
import { downPool, poolCount, poolTargets } from './target';

const seriesCount = 1000;

let server: Server;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer('', { target: true, pools: true }), launch()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** The target's e2e_row series i = 0 … 2 and i = 0 … 999 (each of value i) at the range's end. */
const threeRows = 'e2e_row{i=~"[0-2]"} @ end()';
const thousandRows = 'e2e_row{i=~"[0-9]{1,3}"} @ end()';

it('stacks series, hovers unstacked values, and switches to local time', async () => {
  const { page, errors } = await browser.newPage();
  // Three series of 1, 2 and 3.
  const expr = encodeURIComponent(`${threeRows} + 1`);
  await page.goto(`${server.base}query?g0.expr=${expr}&g0.tab=0&g0.stacked=1`);
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
  // A wave per series, each in its own phase, so the lines cross as real ones do.
  const expr = encodeURIComponent(`100 + ${thousandRows} + 40 * sin(time() / 600 + ${thousandRows})`);
  await page.goto(`${server.base}query?g0.expr=${expr}&g0.tab=graph&g0.range_input=250m&g0.res_type=custom&g0.res_step=60`);
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
  await page.getByLabel('Filter series').fill('i="12"');
  await expect.poll(() => page.locator('.legend-item:not([hidden])').count()).toBe(1);
  expect(await page.locator('.legend-item:not([hidden])').textContent()).toContain('i="12"');

  const longest = await page.evaluate(() => (window as unknown as { longestTask: number }).longestTask);
  const file = resolve(import.meta.dirname, '../test-results/screenshots/graph-1000-series.png');
  await page.screenshot({ path: file });
  console.log(
    `graph of ${seriesCount} series x 251 points: ${drawMs.toFixed(1)} ms from data to first draw; ` +
      `longest main-thread task ${longest.toFixed(0)} ms\nscreenshot: ${file}`,
  );
  expect(errors).toEqual([]);
});

it(`lists ${poolTargets} targets and filters them without freezing`, async () => {
  const { page, errors } = await browser.newPage();
  await page.addInitScript(() => {
    const w = window as unknown as { longestTask: number };
    w.longestTask = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.longestTask = Math.max(w.longestTask, e.duration);
    }).observe({ type: 'longtask', buffered: true });
  });
  // 500 targets in 10 pools, the targets of one pool down (target.ts), beside the server's other jobs.
  const active = (await server.get<{ data: { activeTargets: unknown[] } }>('api/v1/targets?state=active')).data.activeTargets.length;
  expect(active).toBeGreaterThan(poolTargets);
  const perPool = poolTargets / poolCount;
  await page.goto(`${server.base}targets`);
  await expect.poll(() => page.locator('.targets tbody tr').count()).toBe(active);
  await page.getByLabel('Filter targets').fill('connection refused');
  await expect.poll(() => page.locator('.targets tbody tr').count()).toBe(perPool);
  expect(await page.locator('.pool h2').allTextContents()).toEqual([`${downPool} (0/${perPool} up)`]);
  await page.getByLabel('Filter targets').fill('');
  await page.getByLabel('Scrape pool').selectOption('pool-7');
  await expect.poll(() => page.locator('.targets tbody tr').count()).toBe(perPool);
  expect(await page.locator('.pool h2').allTextContents()).toEqual([`pool-7 (${perPool}/${perPool} up)`]);
  const longest = await page.evaluate(() => (window as unknown as { longestTask: number }).longestTask);
  console.log(`targets page with ${active} targets: longest main-thread task ${longest.toFixed(0)} ms`);
  await page.close();
  expect(errors).toEqual([]);
});
