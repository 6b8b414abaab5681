// A scrape target for the e2e tests that need data the server's own metrics
// do not hold: a classic histogram with fixed bucket counts (so the heatmap's
// cells and the explained series can be checked to the number) and more
// series than the query table shows at once. It serves Prometheus's text
// format over HTTPS with the test's certificate, and the server scrapes it
// like any exporter.

import { createServer, type Server } from 'node:https';

/** The classic histogram's buckets: upper bound and the count in that bucket
 * alone (the exposition's counts are cumulative). No bucket is empty: the
 * API leaves empty native histogram buckets out. */
export const histogramBuckets: [le: string, count: number][] = [
  ['0.1', 3],
  ['0.2', 7],
  ['0.4', 10],
  ['0.8', 1],
  ['+Inf', 2],
];

/** How many series of e2e_row the target exposes: more than the table's 1,000 rows. */
export const rowSeries = 1500;

function exposition(): string {
  const lines = [
    '# HELP e2e_request_duration_seconds Latencies with fixed counts, for the heatmap and Explain tests.',
    '# TYPE e2e_request_duration_seconds histogram',
  ];
  let cumulative = 0;
  for (const [le, n] of histogramBuckets) {
    cumulative += n;
    lines.push(`e2e_request_duration_seconds_bucket{le="${le}"} ${cumulative}`);
  }
  lines.push(`e2e_request_duration_seconds_sum 4.25`, `e2e_request_duration_seconds_count ${cumulative}`);
  lines.push('# HELP e2e_row One series per row, for the table row limit.', '# TYPE e2e_row gauge');
  for (let i = 0; i < rowSeries; i++) lines.push(`e2e_row{i="${i}"} ${i}`);
  return lines.join('\n') + '\n';
}

/** startTarget serves /metrics on a port the kernel picks, and returns its address. */
export async function startTarget(cert: string, key: string): Promise<{ addr: string; close(): void }> {
  const body = exposition();
  const server: Server = createServer({ cert, key }, (req, res) => {
    if (new URL(req.url ?? '/', 'https://x').pathname !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const a = server.address();
  if (typeof a !== 'object' || !a) throw new Error('target: no address');
  return {
    addr: `127.0.0.1:${a.port}`,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
