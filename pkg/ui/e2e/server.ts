// Starts a real miniprom for the e2e tests: a certificate made for the test,
// TLS from a web config, and a configuration that scrapes the server itself
// over HTTPS, all with Prometheus's own flags.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startFront } from './front';
import { histogramBuckets, poolJobs, poolTargets, rowSeries, startTarget } from './target';

const uiDir = resolve(import.meta.dirname, '..');

/** binary is the server under test: MINIPROM_BIN, or the one `make build`
 * makes. With MINIPROM_BIN=/usr/bin/prometheus (Debian's), the UI is served
 * from dist/ by a front (front.ts) that passes the API to prometheus. */
export function binary(): string {
  return resolve(uiDir, process.env.MINIPROM_BIN ?? '../../bin/miniprom');
}

export interface Server {
  /** The UI's root, with the route prefix and a trailing slash. */
  base: string;
  /** The test certificate, to trust in node's HTTPS requests. */
  ca: string;
  /** get fetches a path below base and parses JSON. */
  get<T>(path: string): Promise<T>;
  logs(): string;
  /** reload writes a configuration file that fails to load (broken) or the
   * original one back, and signals the server to reload it. */
  reload(broken: boolean): Promise<void>;
  stop(): Promise<void>;
}

/** freePort asks the kernel for an unused port. Another process could take it
 * before the server binds it, which is unlikely on a test machine. */
function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? ok(addr.port) : fail(new Error('no port'))));
    });
  });
}

function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request(url, { ca, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', fail);
    req.end();
  });
}

/** poll calls fn until it returns a value, or throws the last reason at the deadline. */
export async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let delay = 50; ; delay = Math.min(delay * 2, 500)) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Rules for the runs that check the Rules and Alerts pages with content:
 * one recording rule, one alert that fires at once and one that never does. */
const rules = `groups:
  - name: e2e
    interval: 1s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: AlwaysFiring
        expr: vector(1) > 0
        labels:
          severity: none
        annotations:
          summary: fires for the e2e tests
      - alert: NeverFiring
        expr: vector(1) < 0
        for: 5m
        keep_firing_for: 10m
        labels:
          team: e2e
        annotations:
          description: stays inactive for the e2e tests
`;

/** The scrape jobs of the runs started with a target: the test's own target
 * (target.ts), its classic histogram kept as such and also stored as a native
 * histogram with custom buckets; and the server's own request latencies as
 * exponential native histograms, which only a protobuf scrape carries. */
function targetJobs(targetAddr: string, serverAddr: string, prefix: string, cert: string): string[] {
  return [
    '  - job_name: e2e',
    '    scheme: https',
    '    tls_config:',
    `      ca_file: ${cert}`,
    '    convert_classic_histograms_to_nhcb: true',
    '    always_scrape_classic_histograms: true',
    '    static_configs:',
    `      - targets: ['${targetAddr}']`,
    '  - job_name: native',
    '    scheme: https',
    `    metrics_path: ${prefix}/metrics`,
    '    scrape_native_histograms: true',
    '    tls_config:',
    `      ca_file: ${cert}`,
    '    static_configs:',
    `      - targets: ['${serverAddr}']`,
    '    metric_relabel_configs:',
    '      - source_labels: [__name__]',
    '        regex: prometheus_http_request_duration_seconds',
    '        action: keep',
  ];
}

/** startServer starts the server; with opts.target also a scrape target
 * (target.ts) and the jobs that scrape it (targetJobs), and returns once
 * their series are in; opts.pools (with opts.target) adds the hundreds of
 * pool targets of poolJobs, and returns once each has been scraped. */
export async function startServer(prefix: string, opts: { rules?: boolean; pageTitle?: string; target?: boolean; pools?: boolean } = {}): Promise<Server> {
  const bin = binary();
  if (!existsSync(bin)) throw new Error(`no server binary at ${bin}: run "make build" or set MINIPROM_BIN`);
  const dir = await mkdtemp(join(tmpdir(), 'miniprom-e2e-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  const ca = await readFile(cert, 'utf8');
  const target = opts.target ? await startTarget(ca, await readFile(key, 'utf8')) : undefined;
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const isPrometheus = basename(bin) === 'prometheus';
  // Prometheus serves its own UI, so it listens behind the front instead.
  const serverAddr = isPrometheus ? `127.0.0.1:${await freePort()}` : addr;
  if (opts.rules) await writeFile(join(dir, 'rules.yml'), rules);
  await writeFile(join(dir, 'web.yml'), `tls_server_config:\n  cert_file: ${cert}\n  key_file: ${key}\n`);
  const configFile = join(dir, 'prometheus.yml');
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    ...(opts.rules ? ['rule_files:', `  - ${join(dir, 'rules.yml')}`] : []),
    'scrape_configs:',
    '  - job_name: miniprom',
    '    scheme: https',
    `    metrics_path: ${prefix}/metrics`,
    '    tls_config:',
    `      ca_file: ${cert}`,
    '    static_configs:',
    `      - targets: ['${serverAddr}']`,
    // A target that relabelling drops, for the service discovery page.
    '  - job_name: dropped',
    '    static_configs:',
    "      - targets: ['dropped.invalid:9100']",
    '    relabel_configs:',
    '      - source_labels: [__address__]',
    "        regex: 'dropped\\..*'",
    '        action: drop',
    ...(target ? targetJobs(target.addr, serverAddr, prefix, cert) : []),
    ...(target && opts.pools ? poolJobs(target.addr, `127.0.0.1:${await freePort()}`, cert) : []),
    '',
  ].join('\n');
  await writeFile(configFile, config);
  const args = [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--web.config.file=${join(dir, 'web.yml')}`,
    `--web.listen-address=${serverAddr}`,
    `--web.external-url=https://${addr}${prefix}/`,
  ];
  if (isPrometheus) args.push(`--storage.tsdb.path=${join(dir, 'data')}`);
  if (opts.pageTitle) args.push(`--web.page-title=${opts.pageTitle}`);

  let log = '';
  const proc: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const front = isPrometheus ? await startFront({ port, prefix, backend: `https://${serverAddr}`, cert, key, ca }) : undefined;

  const base = `https://${addr}${prefix}/`;
  const server: Server = {
    base,
    ca,
    async get<T>(path: string) {
      const r = await httpsGet(base + path, ca);
      if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}: ${r.body.slice(0, 200)}`);
      return JSON.parse(r.body) as T;
    },
    logs: () => log,
    async reload(broken: boolean) {
      await writeFile(configFile, broken ? 'scrape_configs: [this is not a list of scrape configs' : config);
      proc.kill('SIGHUP');
    },
    async stop() {
      front?.closeAllConnections();
      front?.close();
      target?.close();
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await poll('the server to be ready', async () => {
      if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}:\n${log}`);
      return (await httpsGet(`${base}-/ready`, ca)).status === 200 ? true : undefined;
    });
    if (target) await targetScraped(server);
    if (target && opts.pools) await poolsScraped(server);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

type Vector = { data: { result: { metric: Record<string, string>; value?: unknown; histogram?: unknown }[] } };

/** targetScraped waits until the target's series and the server's own native
 * histograms have been scraped: the histogram as classic buckets and as a
 * native histogram, every e2e_row series, and an exponential histogram. */
async function targetScraped(server: Server): Promise<void> {
  const q = (expr: string) => server.get<Vector>(`api/v1/query?query=${encodeURIComponent(expr)}`);
  await poll('the e2e target\'s series', async () => {
    const [classic, nhcb, rows, native] = await Promise.all([
      q('count(e2e_request_duration_seconds_bucket)'),
      q('e2e_request_duration_seconds'),
      q('count(e2e_row)'),
      q('prometheus_http_request_duration_seconds{job="native"}'),
    ]);
    const n = (r: Vector) => Number((r.data.result[0]?.value as [number, string] | undefined)?.[1] ?? 0);
    const ready =
      n(classic) === histogramBuckets.length &&
      nhcb.data.result.some((s) => s.histogram) &&
      n(rows) === rowSeries &&
      native.data.result.some((s) => s.histogram);
    return ready ? true : undefined;
  });
}

type Targets = { data: { activeTargets: { scrapePool: string; health: string }[] } };

/** poolsScraped waits until every pool target has been scraped once. */
async function poolsScraped(server: Server): Promise<void> {
  await poll('every pool target scraped', async () => {
    const r = await server.get<Targets>('api/v1/targets?state=active');
    const scraped = r.data.activeTargets.filter((t) => t.scrapePool.startsWith('pool-') && t.health !== 'unknown');
    return scraped.length === poolTargets ? true : undefined;
  });
}
