// Debian's Chromium driven by playwright-core; the tests never download a browser.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export interface Browser {
  context: BrowserContext;
  /** newPage opens a page that records console errors and uncaught exceptions. */
  newPage(): Promise<{ page: Page; errors: string[] }>;
  close(): Promise<void>;
}

export async function launch(): Promise<Browser> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'miniprom-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    headless: true,
    // The test's certificate is self-signed; trusting it in Chromium would
    // need an NSS database, and the connection is still HTTPS.
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async newPage() {
      const page = await context.newPage();
      // Fail a stuck step with a message well inside vitest's test timeout,
      // instead of hanging the whole test.
      page.setDefaultTimeout(20_000);
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()} (${m.location().url})`);
      });
      page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
      return { page, errors };
    },
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
