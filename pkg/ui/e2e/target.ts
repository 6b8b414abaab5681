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

/** What each of the many pool targets (poolJobs) scrapes: one series, so
 * hundreds of targets stay cheap to scrape. */
const poolBody = '# TYPE e2e_pool_member gauge\ne2e_pool_member 1\n';

/** The pool targets: poolTargets targets in poolCount scrape pools, pool-k
 * holding every target i with i % poolCount = k; the targets of pool-3 are
 * at an address nobody listens on, so they are down. */
export const poolTargets = 500;
export const poolCount = 10;
export const downPool = 'pool-3';

/** poolJobs is the scrape configuration of the pool targets: the up ones
 * scrape the target's /pool, told apart by a label; the down ones a closed port. */
export function poolJobs(targetAddr: string, closedAddr: string, cert: string): string[] {
  const lines: string[] = [];
  for (let k = 0; k < poolCount; k++) {
    const name = `pool-${k}`;
    lines.push(
      `  - job_name: ${name}`,
      '    scheme: https',
      '    metrics_path: /pool',
      // Slower than the other jobs: hundreds of scrapes a second would load the test machine.
      '    scrape_interval: 3s',
      '    scrape_timeout: 2s',
      '    tls_config:',
      `      ca_file: ${cert}`,
      '    static_configs:',
    );
    for (let i = k; i < poolTargets; i += poolCount) {
      lines.push(`      - targets: ['${name === downPool ? closedAddr : targetAddr}']`, `        labels: { member: '${i}', zone: 'z${i % 3}' }`);
    }
  }
  return lines;
}

/** startTarget serves /metrics and /pool on a port the kernel picks, and returns its address. */
export async function startTarget(cert: string, key: string): Promise<{ addr: string; close(): void }> {
  const body = exposition();
  const server: Server = createServer({ cert, key }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    if (path !== '/metrics' && path !== '/pool') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(path === '/metrics' ? body : poolBody);
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
