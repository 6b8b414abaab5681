// The Graph tab against a real server: drag-to-zoom and its way back,
// readable axes, the resolution input.

import { describe, expect, it } from 'vitest';
import { runs, useEnv } from './env';

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
});
