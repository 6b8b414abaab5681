import { writeFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Relative URLs everywhere, so the UI works under any route prefix and
  // behind a reverse proxy: pages sit one level below the prefix.
  base: './',
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    // The Go handler gzips once at startup; Vite's own size report is enough.
    reportCompressedSize: true,
  },
  // `npm run dev` serves the pages with hot reload and passes the API to a
  // running miniprom (`make run` serves https://localhost:9090).
  server: {
    proxy: {
      '/api': { target: process.env.MINIPROM_URL ?? 'https://localhost:9090', changeOrigin: true, secure: false },
    },
  },
  plugins: [
    {
      // Vite empties dist/ before building; put back the committed placeholder
      // that lets `//go:embed all:dist` compile without a build.
      name: 'miniprom-keep-placeholder',
      closeBundle() {
        writeFileSync('dist/.keep', '');
      },
    },
  ],
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    env: { TZ: 'Asia/Kolkata' },
  },
});
