// A stand-in for miniprom's web layer when the server under test is Debian's
// prometheus, which serves its own UI: an HTTPS front that serves this UI's
// dist/ the way pkg/ui does and passes everything else to prometheus. It lets
// the UI be checked against the reference API.

import { readFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:https';
import { extname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = resolve(import.meta.dirname, '../dist');
const pages = new Set(['query', 'graph', 'targets', 'rules', 'alerts', 'status', 'flags', 'config', 'tsdb-status', 'service-discovery', 'alertmanager-discovery']);
const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export async function startFront(opts: { port: number; prefix: string; backend: string; cert: string; key: string; ca: string }): Promise<Server> {
  const [cert, key] = await Promise.all([readFile(opts.cert), readFile(opts.key)]);
  const server = createServer({ cert, key }, async (req, res) => {
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    const rel = path.startsWith(`${opts.prefix}/`) ? path.slice(opts.prefix.length + 1) : null;
    const file = rel === null ? null : pages.has(rel) ? 'index.html' : rel.startsWith('assets/') || rel === 'favicon.svg' ? rel : null;
    if (file !== null && !file.includes('..')) {
      try {
        const body = await readFile(join(dist, file));
        const headers: Record<string, string> = { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' };
        // Compressed like pkg/ui's handler, so the weight test measures the same.
        const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding']));
        if (gzip) headers['Content-Encoding'] = 'gzip';
        res.writeHead(200, headers);
        res.end(gzip ? gzipSync(body, { level: 9 }) : body);
      } catch {
        res.writeHead(404).end();
      }
      return;
    }
    const up = request(opts.backend + (req.url ?? '/'), { method: req.method, headers: req.headers, ca: opts.ca }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', (err) => res.writeHead(502).end(String(err)));
    req.pipe(up);
  });
  await new Promise<void>((ok) => server.listen(opts.port, '127.0.0.1', ok));
  return server;
}
