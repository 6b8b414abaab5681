// The expression browser in a real browser against a real server, at the
// root and under a route prefix.

import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { runs, useEnv } from './env';
import { poll } from './server';

describe.each(runs)('at %s', (name, prefix, withRules, pageTitle) => {
  const env = useEnv(name, prefix, withRules, pageTitle);
  const visit = (path: string) => env.visit(path);
  const shot = (page: Page, s: string) => env.shot(page, s);

  it('runs a query picked from autocomplete and shows table rows, then graphs it', async () => {
    const { page, done } = await visit('query');
    await page.locator('.cm-content').click();
    await page.keyboard.type('scrape_dur');
    const option = page.locator('.cm-tooltip-autocomplete li', { hasText: 'scrape_duration_seconds' });
    await option.first().click();
    await expect.poll(() => page.locator('.cm-content').textContent()).toBe('scrape_duration_seconds');
    await page.keyboard.press('Enter');

    const rows = page.locator('table.result tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('job="miniprom"');
    expect(await page.locator('.stats').textContent()).toMatch(/Samples: \d+.*Result count: 1/);
    expect(page.url()).toContain(`${prefix}/query?g0.expr=scrape_duration_seconds&g0.tab=table`);
    await shot(page, 'query-table');

    await page.getByRole('tab', { name: 'Graph' }).click();
    await page.locator('.chart canvas').waitFor();
    const legend = page.locator('.legend-item');
    await legend.first().waitFor();
    expect(await legend.count()).toBe(1);
    expect(await legend.first().textContent()).toContain('scrape_duration_seconds');
    expect(page.url()).toContain('g0.tab=graph');
    // Hovering over the plot shows the values at that time.
    const box = (await page.locator('.u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width - 5, box.y + box.height / 2);
    await expect.poll(() => page.locator('.graph-tooltip').isVisible()).toBe(true);
    expect(await page.locator('.graph-tooltip').textContent()).toContain('scrape_duration_seconds');
    await done('query-graph');
  });

  it('opens a shared Prometheus graph link', async () => {
    const { page, done } = await visit('graph?g0.expr=up&g0.tab=0&g0.range_input=1h');
    await page.locator('.chart canvas').waitFor();
    expect(await page.locator('.cm-content').textContent()).toBe('up');
    expect(await page.getByRole('tab', { name: 'Graph' }).getAttribute('aria-selected')).toBe('true');
    expect(await page.getByLabel('Range').inputValue()).toBe('1h');
    expect(await page.locator('.legend-item').first().textContent()).toContain('job="miniprom"');
    // The link is rewritten to the canonical page, keeping the query.
    expect(new URL(page.url()).pathname).toBe(`${prefix}/query`);
    await done('graph-link');
  });

  it('shows API errors, and keeps several panels in the URL', async () => {
    const { page, done } = await visit('query?g0.expr=rate(up%5B1m%5D&g0.tab=1');
    // The API's own message, as it returned it.
    await page.locator('.alert.error', { hasText: 'parse error' }).waitFor();
    await page.getByRole('button', { name: 'Add panel' }).click();
    await expect.poll(() => page.locator('section.panel').count()).toBe(2);
    await page.keyboard.type('vector(42)');
    // A completion list still open would take the Enter.
    await page.keyboard.press('Escape');
    await page.keyboard.press('Enter');
    await page.locator('section.panel').nth(1).locator('table.result', { hasText: '42' }).waitFor();
    const params = new URL(page.url()).searchParams;
    expect([params.get('g0.expr'), params.get('g1.expr'), params.get('g1.tab')]).toEqual(['rate(up[1m]', 'vector(42)', 'table']);
    // Chromium logs every failed request, the expected 400 included.
    await done('query-panels', /status of 400 .*\/api\/v1\/query\?/);
  });

  it('loads no more than 200 KB (gzip) before the graph is opened', async () => {
    const { page, errors } = await env.browser.newPage();
    // The browser is shared with the other tests, whose visits filled its cache.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    const bytes = { first: 0, graph: 0 };
    let phase: keyof typeof bytes = 'first';
    // A request counts in the phase it finished in; its size arrives later,
    // so every size is awaited before the counts are read.
    const sizes: Promise<void>[] = [];
    page.on('requestfinished', (req) => {
      if (req.url().includes('/api/v1/')) return;
      const during = phase;
      sizes.push(req.sizes().then((s) => { bytes[during] += s.responseBodySize; }));
    });
    await page.goto(env.server.base + 'query?g0.expr=up&g0.tab=1');
    await page.locator('table.result').waitFor();
    await page.waitForLoadState('networkidle');
    await Promise.all(sizes);
    phase = 'graph';
    await page.getByRole('tab', { name: 'Graph' }).click();
    await page.locator('.chart canvas').waitFor();
    await page.waitForLoadState('networkidle');
    await Promise.all(sizes);
    console.log(`query page first load: ${(bytes.first / 1024).toFixed(1)} KiB transferred; graph tab adds ${(bytes.graph / 1024).toFixed(1)} KiB`);
    expect(bytes.first).toBeLessThanOrEqual(200 * 1000);
    // The chart library is loaded lazily, so opening the graph costs something.
    expect(bytes.graph).toBeGreaterThan(10 * 1000);
    await page.close();
    expect(errors).toEqual([]);
  });

  it('shows the self-scrape target', async () => {
    const { page, done } = await visit('targets');
    const pool = page.locator('.pool', { has: page.locator('h2', { hasText: 'miniprom' }) });
    await pool.waitFor();
    expect(await pool.locator('.health').first().textContent()).toBe('UP');
    expect(await pool.locator('tbody').textContent()).toContain(`https://127.0.0.1:`);
    await page.locator('input[name="up"]').uncheck();
    await page.getByText('No targets match the filters.').waitFor();
    await page.locator('input[name="up"]').check();
    await page.getByLabel('Filter targets').fill('no-such-target');
    await page.getByText('No targets match the filters.').waitFor();
    await page.getByLabel('Filter targets').fill('job="miniprom"');
    await pool.waitFor();
    await done('targets');
  });

  it('shows runtime and build information', async () => {
    const { page, done } = await visit('status');
    await page.getByRole('heading', { name: 'Build information' }).waitFor();
    expect(await page.locator('table').first().textContent()).toContain('Start time');
    await done('status');
  });

  // Debian's prometheus behind the front (front.ts) gets the flag but not
  // pkg/ui, which is what puts the title into the page.
  it.skipIf((process.env.MINIPROM_BIN ?? '').endsWith('prometheus'))(
    'titles every page with --web.page-title when given, as Prometheus does, else with the page name',
    async () => {
      for (const [path, own] of [
        ['query', 'Query · miniprom'],
        ['targets', 'Targets · miniprom'],
      ]) {
        const { page, done } = await visit(path);
        // The app titles the page in the same task as it draws the navigation.
        await page.locator('nav a.active').waitFor();
        expect(await page.title()).toBe(pageTitle || own);
        await done(`title-${path}`);
      }
    },
  );

  it('shows the command-line flags', async () => {
    const { page, done } = await visit('flags');
    const row = page.locator('tr', { hasText: '--web.external-url' });
    await row.waitFor();
    expect(await row.textContent()).toContain(`${env.server.base}`.replace(/\/$/, ''));
    await page.getByLabel('Filter flags').fill('listen-address');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await done('flags');
  });

  it('shows the configuration, TSDB status, rules and alerts', async () => {
    if (withRules) {
      await poll('the alert to fire', async () => {
        const r = await env.server.get<{ data: { alerts: { state: string }[] } }>('api/v1/alerts');
        return r.data.alerts.some((a) => a.state === 'firing') ? true : undefined;
      });
    }
    for (const [path, text] of [
      ['config', 'job_name: miniprom'],
      ['tsdb-status', 'Top series count by metric name'],
      // miniprom's bound on series held (--storage.max-series), and its use.
      ['tsdb-status', (process.env.MINIPROM_BIN ?? '').endsWith('prometheus') ? 'no limit' : '% used)'],
      // Where samples are held: RAM-backed files, the Go heap or a disk.
      ['tsdb-status', (process.env.MINIPROM_BIN ?? '').endsWith('prometheus') ? 'Retention and storage: 15d' : '(RAM-backed files in /'],
      ['rules', withRules ? 'record: job:up:sum' : 'No rule groups are configured.'],
      ['alerts', withRules ? 'fires for the e2e tests' : 'No alerting rules.'],
    ]) {
      const { page, done } = await visit(path);
      // The page's text as a whole: highlighting splits the config into spans.
      await expect.poll(() => page.locator('main').textContent()).toContain(text);
      await done(path);
    }
  });
});
