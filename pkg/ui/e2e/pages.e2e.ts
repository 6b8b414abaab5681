// The status pages against a real server: service discovery with the
// relabelling steps of a dropped target, Alertmanager discovery, the full
// Alerts page (inactive rules, state filter, search), the Rules page's
// alerting rule details, Targets' pools, sortable Flags and the
// notifications bell.

import { describe, expect, it } from 'vitest';
import { runs, useEnv } from './env';
import { poll } from './server';

describe.each(runs)('at %s', (name, prefix, withRules) => {
  const env = useEnv(name, prefix, withRules);

  it('lists a dropped target on the service discovery page, with the step that dropped it', async () => {
    const { page, done } = await env.visit('service-discovery');
    const pool = page.locator('section.pool', { has: page.locator('h2', { hasText: /^dropped / }) });
    await pool.waitFor();
    expect(await pool.locator('h2').textContent()).toContain('(0 active / 1 dropped)');
    const row = pool.locator('tbody tr', { hasText: '__address__="dropped.invalid:9100"' });
    expect(await row.locator('.health').textContent()).toBe('DROPPED');
    await row.getByRole('button', { name: 'Show relabelling steps' }).click();
    const step = row.locator('table.relabel-steps tbody tr');
    await step.first().waitFor();
    expect(await step.count()).toBe(1);
    expect(await step.first().textContent()).toContain('action: drop');
    expect(await step.first().textContent()).toContain('regex: dropped\\..*');
    expect(await step.first().textContent()).toContain('Dropped');
    // The active self-scrape shows its labels before and after relabelling.
    const self = page.locator('section.pool', { has: page.locator('h2', { hasText: /^miniprom / }) });
    expect(await self.locator('tbody').textContent()).toContain('__scheme__="https"');
    await page.getByLabel('Filter discovered targets').fill('dropped.invalid');
    await expect.poll(() => page.locator('section.pool').count()).toBe(1);
    await done('service-discovery');
  });

  it('shows the Alertmanager discovery page', async () => {
    const { page, done } = await env.visit('alertmanager-discovery');
    await page.getByRole('heading', { name: /Active Alertmanagers/ }).waitFor();
    expect(await page.getByText('No Alertmanagers').count()).toBe(1);
    await done('alertmanager-discovery');
  });

  it.runIf(withRules)('lists inactive alerting rules, filters by state and text, and formats values', async () => {
    await poll('the alert to fire', async () => {
      const r = await env.server.get<{ data: { alerts: { state: string }[] } }>('api/v1/alerts');
      return r.data.alerts.some((a) => a.state === 'firing') ? true : undefined;
    });
    const { page, done } = await env.visit('alerts');
    const never = page.locator('details.alert-rule', { hasText: 'NeverFiring' });
    const always = page.locator('details.alert-rule', { hasText: 'AlwaysFiring' });
    await never.waitFor();
    expect(await never.locator('summary .health').textContent()).toBe('INACTIVE');
    expect(await page.locator('section.pool h2').first().textContent()).toContain('e2e');
    // The firing rule is open and lists its alert, its value as a number reads.
    expect(await always.locator('table.alerts tbody td').nth(3).textContent()).toBe('1');
    await never.locator('summary').click();
    expect(await never.locator('dl.rule-details').textContent()).toMatch(/for\s*5m.*keep_firing_for\s*10m/);

    await page.locator('input[name="inactive"]').uncheck();
    await expect.poll(() => never.count()).toBe(0);
    expect(await always.count()).toBe(1);
    await page.locator('input[name="inactive"]').check();
    await page.getByLabel('Filter alerts').fill('team="e2e"');
    await expect.poll(() => always.count()).toBe(0);
    expect(await never.count()).toBe(1);
    // Auto-refresh reloads the list and keeps the filter.
    await page.getByLabel('Auto-refresh').selectOption('5s');
    await expect.poll(() => page.locator('.updated').textContent(), { timeout: 15_000 }).toMatch(/^updated /);
    expect(await never.count()).toBe(1);
    expect(await always.count()).toBe(0);
    await done('alerts-filtered');
  });

  it.runIf(!withRules)('says when there are no alerting rules', async () => {
    const { page, done } = await env.visit('alerts');
    await page.getByText('No alerting rules.').waitFor();
    await done('alerts-empty');
  });

  it.runIf(withRules)("shows an alerting rule's for, keep_firing_for, labels and annotations on the Rules page", async () => {
    const { page, done } = await env.visit('rules');
    const row = page.locator('tbody tr', { hasText: 'alert: NeverFiring' });
    await row.waitFor();
    const details = await row.locator('dl.rule-details').textContent();
    expect(details).toContain('for5m');
    expect(details).toContain('keep_firing_for10m');
    expect(details).toContain('label teame2e');
    expect(details).toContain('annotation descriptionstays inactive for the e2e tests');
    await done('rules-details');
  });

  it('picks, folds and unfolds scrape pools on the Targets page, with interval and timeout', async () => {
    const { page, done } = await env.visit('targets');
    const pool = page.locator('details.pool', { has: page.locator('h2', { hasText: 'miniprom' }) });
    await pool.locator('tbody tr').waitFor();
    expect(await pool.locator('td[data-label="Interval / timeout"]').textContent()).toBe('1s / 1s');
    await pool.locator('details.discovered summary').first().click();
    await expect.poll(() => pool.locator('details.discovered').first().textContent()).toContain('__scheme__="https"');
    await pool.locator(':scope > summary').click();
    await expect.poll(() => pool.evaluate((el: HTMLDetailsElement) => el.open)).toBe(false);
    await page.getByRole('button', { name: 'Fold / unfold all' }).click();
    await expect.poll(() => pool.evaluate((el: HTMLDetailsElement) => el.open)).toBe(true);
    await page.getByLabel('Scrape pool').selectOption('miniprom');
    await expect.poll(() => page.locator('details.pool').count()).toBe(1);
    await done('targets-pools');
  });

  it('sorts the flags by name and by value', async () => {
    const { page, done } = await env.visit('flags');
    const first = page.locator('tbody tr').first().locator('td').first();
    await first.waitFor();
    const names = await page.locator('tbody tr td:first-child').allTextContents();
    expect(names).toEqual([...names].sort());
    await page.getByRole('button', { name: 'Flag' }).click();
    await expect.poll(async () => (await page.locator('tbody tr td:first-child').allTextContents())[0]).toBe([...names].sort().reverse()[0]);
    await page.getByRole('button', { name: 'Value' }).click();
    const values = await page.locator('tbody tr td:last-child').allTextContents();
    expect(values).toEqual([...values].sort((a, b) => a.localeCompare(b)));
    await done('flags-sorted');
  });

  it('rings the notifications bell while a config reload has failed', async () => {
    const { page, done } = await env.visit('query');
    await page.getByRole('button', { name: 'Notifications' }).click();
    await page.getByText('No notifications.').waitFor();
    await env.server.reload(true);
    try {
      await poll('the failed-reload notification', async () => {
        const r = await env.server.get<{ data: unknown[] }>('api/v1/notifications');
        return r.data.length > 0 ? true : undefined;
      });
      await page.reload();
      await expect.poll(() => page.locator('.dot').textContent()).toBe('1');
      await page.getByRole('button', { name: 'Notifications' }).click();
      await page.getByRole('dialog', { name: 'Notifications' }).getByText('Configuration reload has failed.').waitFor();
      await env.shot(page, 'notifications');
    } finally {
      await env.server.reload(false);
    }
    await poll('the notification to clear', async () => {
      const r = await env.server.get<{ data: { active: boolean }[] }>('api/v1/notifications');
      return r.data.every((n) => !n.active) ? true : undefined;
    });
    await page.reload();
    await page.getByRole('button', { name: 'Notifications' }).click();
    await page.getByText('No notifications.').waitFor();
    expect(await page.locator('.dot').isVisible()).toBe(false);
    await done('notifications-cleared');
  });

  it('highlights the configuration', async () => {
    const { page, done } = await env.visit('config');
    await page.locator('pre.config .y-key', { hasText: 'job_name' }).first().waitFor();
    expect(await page.locator('pre.config .y-string', { hasText: 'miniprom' }).count()).toBeGreaterThan(0);
    expect(await page.locator('pre.config .y-number', { hasText: '1s' }).count()).toBeGreaterThan(0);
    await done('config-highlighted');
  });
});
