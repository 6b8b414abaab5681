// Look and settings: the dark theme follows the system's preference, the
// settings menu overrides it and the editor's helpers and is remembered, a
// 390 px screen never scrolls sideways, and nothing reserves a strip beside
// the nav.

import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { runs, useEnv } from './env';

/** luminance of an element's computed background, 0 (black) to 1 (white). */
function background(page: Page, selector: string): Promise<number> {
  return page.locator(selector).first().evaluate((el) => {
    const [r, g, b] = getComputedStyle(el).backgroundColor.match(/\d+/g)!.map(Number);
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  });
}

describe.each(runs)('at %s', (name, prefix, withRules) => {
  const env = useEnv(name, prefix, withRules);

  it('is dark when the system prefers dark, and the settings menu overrides it', async () => {
    const { page, done } = await env.visit('query?g0.expr=up&g0.tab=graph');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.reload();
    await page.locator('.chart canvas').waitFor();
    expect(await background(page, 'html')).toBeLessThan(0.2);
    expect(await background(page, 'section.panel')).toBeLessThan(0.2);
    expect(await background(page, '.cm-editor')).toBeLessThan(0.2);
    await env.shot(page, 'dark-query');

    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('radio', { name: 'Light' }).check();
    await expect.poll(() => background(page, 'html')).toBeGreaterThan(0.8);
    // Remembered across loads, over the system's preference.
    await page.reload();
    await page.locator('.chart canvas').waitFor();
    expect(await background(page, 'html')).toBeGreaterThan(0.8);
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('radio', { name: 'Dark' }).check();
    await page.emulateMedia({ colorScheme: 'light' });
    await expect.poll(() => background(page, 'html')).toBeLessThan(0.2);
    await env.shot(page, 'dark-settings');
    await page.getByRole('radio', { name: 'Follow the system' }).check();
    await expect.poll(() => background(page, 'html')).toBeGreaterThan(0.8);
    await done('light-query');
  });

  it('turns syntax highlighting off and on from the settings', async () => {
    const { page, done } = await env.visit('query?g0.expr=sum(rate(up%5B5m%5D))&g0.tab=table');
    const spans = page.locator('.cm-line span');
    await expect.poll(() => spans.count()).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('checkbox', { name: 'Syntax highlighting' }).uncheck();
    await expect.poll(() => spans.count()).toBe(0);
    await page.reload();
    await page.locator('.cm-line').waitFor();
    expect(await spans.count()).toBe(0);
    await page.getByRole('button', { name: 'Settings' }).click();
    expect(await page.getByRole('checkbox', { name: 'Syntax highlighting' }).isChecked()).toBe(false);
    await page.getByRole('checkbox', { name: 'Syntax highlighting' }).check();
    await expect.poll(() => spans.count()).toBeGreaterThan(0);
    await done('settings-highlighting');
  });

  it('hides query warnings and notes when the settings say so', async () => {
    const { page, done } = await env.visit(`query?g0.expr=${encodeURIComponent('rate(up[1m])')}&g0.tab=table`);
    // rate() of a metric not named like a counter gets an info note.
    const note = page.locator('.alert.info', { hasText: 'might not be a counter' });
    await note.waitFor();
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('checkbox', { name: 'Query warnings and notes' }).uncheck();
    await page.getByRole('button', { name: 'Execute' }).click();
    await expect.poll(() => note.count()).toBe(0);
    await page.locator('.stats', { hasText: 'Result' }).waitFor();
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByRole('checkbox', { name: 'Query warnings and notes' }).check();
    await page.getByRole('button', { name: 'Execute' }).click();
    await note.waitFor();
    await done('settings-warnings');
  });

  it('reserves no strip beside the nav', async () => {
    const { page, done } = await env.visit('query');
    await page.locator('.cm-content').waitFor();
    // A page too short to scroll has no scrollbar and no gutter for one.
    const [client, inner, navRight] = await page.evaluate(() => [
      document.documentElement.clientWidth,
      window.innerWidth,
      document.getElementById('nav')!.getBoundingClientRect().right,
    ]);
    expect(client).toBe(inner);
    expect(navRight).toBe(inner);
    await done('nav');
  });

  it.each([
    ['query?g0.expr=up&g0.tab=graph&g1.expr=up&g1.tab=table', '.chart canvas'],
    ['targets', '.pool'],
    ['alerts', 'h1'],
    ['rules', 'h1'],
    ['flags', 'tbody tr'],
    ['config', 'pre'],
    ['status', 'table'],
    ['tsdb-status', 'table'],
    ['service-discovery', 'section.pool'],
    ['alertmanager-discovery', 'h2'],
  ])('fits %s on a 390 px screen', async (path, ready) => {
    const { page, done } = await env.visit(path);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator(ready).first().waitFor();
    await expect
      .poll(() => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth))
      .toBeLessThanOrEqual(0);
    await done(`narrow-${path.split('?')[0]}`);
  });
});
