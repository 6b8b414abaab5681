import { defineConfig } from 'vitest/config';

// The e2e suite drives Debian's Chromium against a real miniprom over HTTPS.
// Files run one at a time: each starts its own server and browser, and the
// machine has two cores.
export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['**/*.e2e.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 90_000,
  },
});
