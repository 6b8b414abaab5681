// The shared set-up of the e2e files: a real miniprom (at the root or under a
// prefix) and a Chromium, with a visit helper that screenshots each page and
// fails on unexpected console errors.

import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { launch, type Browser } from './browser';
import { poll, startServer, type Server } from './server';

export const shotDir = resolve(import.meta.dirname, '../test-results/screenshots');

/** The runs every file makes: the root run has no rules, to see the empty
 * states; the prefix run has some, to see them listed, and a
 * --web.page-title with markup in it, for the files that pass it on. */
export const runs: [name: string, prefix: string, withRules: boolean, pageTitle: string][] = [
  ['root', '', false, ''],
  ['prefix', '/prom', true, 'Lab <b>"one"</b> & co'],
];

export interface Env {
  server: Server;
  browser: Browser;
  /** visit opens a page; done screenshots it, closes it, and checks that it
   * logged no console errors other than the expected ones. */
  visit(path: string): Promise<{ page: Page; done: (shot: string, expected?: RegExp) => Promise<void> }>;
  /** shot saves a screenshot of a page mid-test. */
  shot(page: Page, shot: string): Promise<void>;
}

export interface EnvOptions {
  /** target adds the scrape target of target.ts (see startServer). */
  target?: boolean;
}

/** useEnv starts a server and a browser for the enclosing describe block. */
export function useEnv(name: string, prefix: string, withRules: boolean, pageTitle = '', opts: EnvOptions = {}): Env {
  const shots: string[] = [];
  const env = {} as Env;
  beforeAll(async () => {
    await mkdir(shotDir, { recursive: true });
    [env.server, env.browser] = await Promise.all([startServer(prefix, { rules: withRules, pageTitle, target: opts.target }), launch()]);
    // The pages need finished self-scrapes, old enough to land on a 1h
    // graph's last step (14s steps end up to 2s before now).
    await poll('self-scrapes', async () => {
      const end = Date.now() / 1000;
      const r = await env.server.get<{ data: { result: unknown[] } }>(
        `api/v1/query_range?query=scrape_duration_seconds&start=${end - 3600}&end=${end}&step=14`,
      );
      return r.data.result.length > 0 ? true : undefined;
    });
  });
  afterAll(async () => {
    await env.browser?.close();
    await env.server?.stop();
    if (shots.length) console.log(`screenshots:\n${shots.map((s) => `  ${s}`).join('\n')}`);
  });
  env.shot = async (page, shot) => {
    const file = resolve(shotDir, `${name}-${shot}.png`);
    await page.screenshot({ path: file, fullPage: true });
    shots.push(file);
  };
  env.visit = async (path) => {
    const { page, errors } = await env.browser.newPage();
    const resp = await page.goto(env.server.base + path);
    expect(resp?.status()).toBe(200);
    return {
      page,
      async done(shot: string, expected?: RegExp) {
        await env.shot(page, shot);
        await page.close();
        expect(errors.filter((e) => !expected?.test(e))).toEqual([]);
      },
    };
  };
  return env;
}
