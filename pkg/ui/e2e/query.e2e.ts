// The Query page's tools against a real server: history with a real Back,
// Format, recent queries, stepping and picking the evaluation time, an
// invalid time reported, the table's row limit lifted, its sort orders and
// its CSV download.

import { readFile } from 'node:fs/promises';
import type { Locator, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { formatCount } from '../src/format';
import { runs, useEnv } from './env';
import { histogramBuckets, rowSeries } from './target';

const expr = (page: Page) => page.locator('.cm-content').textContent();
const param = (page: Page, key: string) => new URL(page.url()).searchParams.get(key);
/** badges lists an Explain node's own label counts (not its children's). */
const badges = (node: Locator) => node.locator(':scope > .node-stats .badge').allTextContents();

/** run replaces the first panel's expression and presses Enter. */
async function run(page: Page, text: string): Promise<void> {
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(text);
  await page.keyboard.press('Escape'); // close a completion list, if one opened
  await page.keyboard.press('Enter');
}

describe.each(runs)('at %s', (name, prefix, withRules) => {
  const env = useEnv(name, prefix, withRules, '', { target: true });

  it('goes Back to the previous query and Forward again', async () => {
    const { page, done } = await env.visit('query?g0.expr=vector(111)&g0.tab=table');
    await page.locator('table.result', { hasText: '111' }).waitFor();
    await run(page, 'vector(222)');
    await page.locator('table.result', { hasText: '222' }).waitFor();
    expect(param(page, 'g0.expr')).toBe('vector(222)');
    await page.goBack();
    await page.locator('table.result', { hasText: '111' }).waitFor();
    expect(await expr(page)).toBe('vector(111)');
    expect(param(page, 'g0.expr')).toBe('vector(111)');
    await page.goForward();
    await page.locator('table.result', { hasText: '222' }).waitFor();
    expect(await expr(page)).toBe('vector(222)');

    // Both queries are in the recent-queries list; picking one runs it.
    await page.getByRole('button', { name: 'History' }).click();
    const items = page.getByRole('list', { name: 'Query history' }).getByRole('button');
    expect(await items.allTextContents()).toEqual(expect.arrayContaining(['vector(222)', 'vector(111)']));
    await items.filter({ hasText: 'vector(111)' }).click();
    await page.locator('table.result', { hasText: '111' }).waitFor();
    expect(param(page, 'g0.expr')).toBe('vector(111)');
    await done('query-history');
  });

  it('formats the expression on the server', async () => {
    const { page, done } = await env.visit(`query?g0.expr=${encodeURIComponent('sum(rate(up[5m]))by(job)')}&g0.tab=table`);
    await page.locator('.stats', { hasText: 'Result' }).waitFor();
    await page.getByRole('button', { name: 'Format' }).click();
    await expect.poll(() => expr(page)).toBe('sum by (job) (rate(up[5m]))');
    await done('query-format');
  });

  it('steps and picks the evaluation time, and reports an invalid one', async () => {
    // time() at a fixed moment: the value is that moment in seconds.
    const { page, done } = await env.visit('query?g0.expr=time()&g0.tab=table&g0.moment_input=2026-01-01%2000:00:00&g0.range_input=1h');
    const value = page.locator('table.result tbody td').last();
    await expect.poll(() => value.textContent()).toBe('1767225600');
    await page.getByRole('button', { name: 'Evaluation time back 14s' }).click();
    await expect.poll(() => value.textContent()).toBe('1767225586');
    expect(param(page, 'g0.moment_input')).toBe('2025-12-31 23:59:46');
    await page.getByRole('button', { name: 'Evaluation time forward 14s' }).click();
    await expect.poll(() => value.textContent()).toBe('1767225600');

    await page.getByLabel('Evaluation time picker').fill('2026-01-02T00:00:00');
    await expect.poll(() => value.textContent()).toBe('1767312000');
    expect(await page.getByLabel('Evaluation time', { exact: true }).inputValue()).toBe('2026-01-02 00:00:00');

    await page.getByLabel('Evaluation time', { exact: true }).fill('yesterday-ish');
    await page.getByLabel('Evaluation time', { exact: true }).press('Enter');
    await page.getByRole('alert').filter({ hasText: 'Invalid time "yesterday-ish"' }).waitFor();
    expect(await page.getByRole('alert').filter({ hasText: 'Invalid time' }).textContent()).toContain('still for 2026-01-02 00:00:00');
    expect(await value.textContent()).toBe('1767312000');
    expect(await page.getByLabel('Evaluation time', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await done('query-eval-time');
  });

  it('shows more than 1,000 rows on request', async () => {
    // The target exposes 1,500 series of e2e_row (target.ts).
    const { page, done } = await env.visit('query');
    await run(page, 'e2e_row');
    const rows = page.locator('table.result tbody tr');
    await expect.poll(() => rows.count()).toBe(1000);
    expect(await page.locator('.row-limit').textContent()).toContain(`Showing the first 1,000 of ${formatCount(rowSeries)} results.`);
    await page.getByRole('button', { name: `Show all ${formatCount(rowSeries)}` }).click();
    await expect.poll(() => rows.count()).toBe(rowSeries);
    // Every series is there once, each with its own value.
    const values = (await page.locator('table.result tbody td:last-child').allTextContents()).map(Number).sort((a, b) => a - b);
    expect(values).toEqual(Array.from({ length: rowSeries }, (_, i) => i));
    await done('query-row-limit');
  });

  it('sorts the table by value and by a label, and downloads it as CSV', async () => {
    const three = [['b', 1], ['a', 3], ['c', 2]].map(([x, v]) => `label_replace(vector(${v}), "x", "${x}", "", "")`).join(' or ');
    const { page, done } = await env.visit(`query?g0.expr=${encodeURIComponent(three)}&g0.tab=table`);
    const rows = page.locator('table.result tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    const values = () => page.locator('table.result tbody td:last-child').allTextContents();
    const xs = async () => (await page.locator('table.result tbody td:first-child').allTextContents()).map((t) => /x="(\w)"/.exec(t)?.[1]);
    await page.getByLabel('Sort by').selectOption('value:desc');
    await expect.poll(values).toEqual(['3', '2', '1']);
    await page.getByLabel('Sort by').selectOption('label:x:asc');
    await expect.poll(xs).toEqual(['a', 'b', 'c']);
    await page.getByLabel('Sort by').selectOption('label:x:desc');
    await expect.poll(xs).toEqual(['c', 'b', 'a']);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    expect(download.suggestedFilename()).toBe('query-result.csv');
    const csv = await readFile((await download.path())!, 'utf8');
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toBe('x,timestamp,value');
    expect(lines.slice(1).map((l) => [l.split(',')[0], l.split(',')[2]]).sort()).toEqual([
      ['a', '3'],
      ['b', '1'],
      ['c', '2'],
    ]);
    await done('query-sorted');
  });

  it('refreshes the query on a timer once asked to, and stops when told', async () => {
    const { page, done } = await env.visit('query?g0.expr=time()&g0.tab=table');
    let queries = 0;
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/query?')) queries++;
    });
    await page.locator('table.result').waitFor();
    expect(await page.getByLabel('Auto-refresh').inputValue()).toBe('');
    await page.getByLabel('Auto-refresh').selectOption('5s');
    await expect.poll(() => queries, { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    // Refreshing adds no history entries: Back leaves the page.
    expect(await page.evaluate(() => history.length)).toBe(2);
    await page.getByLabel('Auto-refresh').selectOption('');
    await done('query-refresh');
  });

  it('explains an expression as a tree with each node\'s series and label counts', async () => {
    const { page, done } = await env.visit(`query?g0.expr=${encodeURIComponent('sum by (job) (up) * on (job) count by (job) (up)')}&g0.tab=explain`);
    const root = page.locator('.explain-tree > li');
    await expect.poll(() => root.locator(':scope > .node-head code').textContent()).toBe('* on (job)');
    const nodes = page.locator('.explain-tree li.node');
    expect(await nodes.count()).toBe(5);
    // Every node ran: up has a series per job (the self-scrape, the target
    // and the native-histogram scrape of the server), on two addresses.
    await expect.poll(() => page.locator('.explain-tree li.node[data-series="3"]').count()).toBe(5);
    const leaf = page.locator('li.node[data-kind="VectorSelector"]').first();
    expect(await badges(leaf)).toEqual(['__name__: 1 value', 'instance: 2 values', 'job: 3 values']);
    expect(param(page, 'g0.tab')).toBe('explain');
    await done('query-explain');
  });

  it('explains a quantile of the scraped histogram, bucket by bucket', async () => {
    const expr = 'histogram_quantile(0.5, sum by (le) (e2e_request_duration_seconds_bucket))';
    const { page, done } = await env.visit(`query?g0.expr=${encodeURIComponent(expr)}&g0.tab=explain`);
    const root = page.locator('.explain-tree > li');
    await expect.poll(() => root.locator(':scope > .node-head code').textContent()).toBe('histogram_quantile()');
    expect(await page.locator('.explain-tree li.node').count()).toBe(4);
    const node = (kind: string) => page.locator(`li.node[data-kind="${kind}"]`);
    // One series per bucket of the target's histogram, summed into one per le, into one quantile.
    const buckets = histogramBuckets.length;
    await expect.poll(() => node('VectorSelector').getAttribute('data-series')).toBe(String(buckets));
    await expect.poll(() => node('AggregateExpr').getAttribute('data-series')).toBe(String(buckets));
    await expect.poll(() => root.getAttribute('data-series')).toBe('1');
    expect(await badges(node('VectorSelector'))).toEqual(['__name__: 1 value', 'instance: 1 value', 'job: 1 value', `le: ${buckets} values`]);
    expect(await badges(node('AggregateExpr'))).toEqual([`le: ${buckets} values`]);
    expect(await badges(root)).toEqual([]);
    expect(await node('VectorSelector').locator('.node-result').textContent()).toMatch(new RegExp(`^${buckets} series · `));
    await expect.poll(() => node('NumberDurationLiteral').locator('.node-result').textContent()).toMatch(/^scalar 0\.5 · /);
    expect(await node('NumberDurationLiteral').locator('code').textContent()).toBe('0.5');
    expect(await node('AggregateExpr').locator(':scope > .node-head code').textContent()).toBe('sum by (le)');
    expect(await node('VectorSelector').locator(':scope > .node-head code').textContent()).toBe('e2e_request_duration_seconds_bucket');
    await done('query-explain-histogram');
  });

  it('shows the scraped histogram as a native one in the table: count, sum and every bucket', async () => {
    const { page, done } = await env.visit('query?g0.expr=e2e_request_duration_seconds&g0.tab=table');
    const hist = page.locator('table.result details.histogram');
    const total = histogramBuckets.reduce((n, [, c]) => n + c, 0);
    await expect.poll(() => hist.locator('summary').textContent()).toBe(`count: ${total} sum: 4.25 (${histogramBuckets.length} buckets)`);
    await hist.locator('summary').click();
    const cells = await hist.locator('table.buckets tbody tr').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
    // Custom buckets are open below and closed above, (lower, upper], but
    // for the first, which Prometheus closes at both ends: [-Inf, upper].
    const lowers = ['[-Inf', ...histogramBuckets.slice(0, -1).map(([le]) => `(${le}`)];
    expect(cells).toEqual(histogramBuckets.map(([le, c], i) => [`${lowers[i]}, ${le}]`, String(c)]));
    await done('query-native-histogram');
  });

  it('finds a metric in the explorer and inserts a selector from its labels', async () => {
    const { page, done } = await env.visit('query');
    await page.getByRole('button', { name: 'Metrics' }).click();
    const dialog = page.getByRole('dialog', { name: 'Metrics explorer' });
    await dialog.getByLabel('Search metrics').fill('gorout');
    const first = dialog.locator('.explorer-metric').first();
    await expect.poll(() => first.locator('code').textContent()).toBe('go_goroutines');
    expect(await first.locator('.badge').textContent()).toBe('gauge');
    await first.click();
    const job = dialog.locator('.explorer-label', { hasText: 'job' });
    await job.waitFor();
    await env.shot(page, 'query-explorer');
    await job.getByRole('button', { name: 'miniprom' }).click();
    await expect.poll(() => dialog.count()).toBe(0);
    expect(await page.locator('.cm-content').textContent()).toBe('go_goroutines{job="miniprom"}');
    await page.keyboard.press('Enter');
    await page.locator('table.result tbody tr').first().waitFor();
    expect(param(page, 'g0.expr')).toBe('go_goroutines{job="miniprom"}');
    await done('query-explorer-inserted');
  });
});
