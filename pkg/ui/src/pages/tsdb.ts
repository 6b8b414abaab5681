// TSDB status: head block stats and the top cardinality lists.

import { get } from '../api';
import { emptyState, h, replace, table } from '../dom';
import { formatCount, formatTime, humanizeDuration } from '../format';

interface Stat {
  name: string;
  value: number;
}

interface TSDBStatus {
  headStats: { numSeries: number; numLabelPairs: number; chunkCount: number; minTime: number; maxTime: number };
  seriesCountByMetricName: Stat[] | null;
  labelValueCountByLabelName: Stat[] | null;
  memoryInBytesByLabelName: Stat[] | null;
  seriesCountByLabelValuePair: Stat[] | null;
}

function time(ms: number): string {
  // An empty head reports the extremes of int64 as its time range.
  return Math.abs(ms) > 1e15 ? '–' : `${formatTime(ms, true)} UTC`;
}

function top(title: string, column: string, stats: Stat[] | null, unit = 'Count'): HTMLElement[] {
  return [
    h('h2', null, title),
    stats?.length ? table([column, unit], stats.map((s) => [s.name, formatCount(s.value)]), 'kv') : emptyState('None.'),
  ];
}

/** selfMetrics reads miniprom's /metrics text; empty when it cannot. */
async function selfMetrics(): Promise<string> {
  try {
    const resp = await fetch(new URL('./metrics', document.baseURI));
    return resp.ok ? await resp.text() : '';
  } catch {
    return '';
  }
}

/** metric finds a metric without labels in a /metrics text. */
function metric(metrics: string, name: string): number | null {
  const m = new RegExp(`^${name} ([-0-9.e+]+)$`, 'm').exec(metrics);
  return m ? Number(m[1]) : null;
}

/** parseSeriesLimit finds miniprom's bound on series held
 * (--storage.max-series) in a /metrics text; 0 when there is none. */
export function parseSeriesLimit(metrics: string): number {
  return metric(metrics, 'miniprom_tsdb_series_limit') ?? 0;
}

/** Snapshot is the state of --storage.memory.snapshot-dir. */
export interface Snapshot {
  lastSuccessTime: number; // seconds, 0 before the first success
  lastSuccess: boolean;
  lastDuration: number; // seconds
  lastSize: number; // bytes
  failures: number;
}

/** parseSnapshot reads the miniprom_snapshot_* self-metrics; null when
 * snapshots are off. */
export function parseSnapshot(metrics: string): Snapshot | null {
  const time = metric(metrics, 'miniprom_snapshot_last_success_timestamp_seconds');
  if (time === null) return null;
  return {
    lastSuccessTime: time,
    lastSuccess: metric(metrics, 'miniprom_snapshot_last_success') === 1,
    lastDuration: metric(metrics, 'miniprom_snapshot_last_duration_seconds') ?? 0,
    lastSize: metric(metrics, 'miniprom_snapshot_last_size_bytes') ?? 0,
    failures: metric(metrics, 'miniprom_snapshot_failures_total') ?? 0,
  };
}

/** snapshotRow is the Snapshots table's row; the first is written at the
 * first shutdown or interval. */
export function snapshotRow(s: Snapshot): string[] {
  if (s.lastSuccessTime === 0 && s.failures === 0) return ['none yet', '–', '–', '–', '0'];
  return [
    s.lastSuccessTime ? time(s.lastSuccessTime * 1000) : 'never',
    s.lastSuccess ? 'success' : 'failed (previous snapshot kept)',
    humanizeDuration(s.lastDuration * 1000),
    `${formatCount(s.lastSize)} bytes`,
    formatCount(s.failures),
  ];
}

/** limitUse says how close the series held are to the bound. */
export function limitUse(series: number, limit: number): string {
  if (limit <= 0) return 'no limit';
  return `${formatCount(limit)} (${((100 * series) / limit).toFixed(1)}% used)`;
}

export async function render(root: HTMLElement): Promise<void> {
  const [{ data }, metrics, runtime] = await Promise.all([
    get<TSDBStatus>('status/tsdb'),
    selfMetrics(),
    // miniprom's storageRetention ends with where samples are held.
    get<{ storageRetention: string }>('status/runtimeinfo'),
  ]);
  const limit = parseSeriesLimit(metrics);
  const snapshot = parseSnapshot(metrics);
  const hs = data.headStats;
  replace(
    root,
    h('h1', null, 'TSDB status'),
    h('p', null, `Retention and storage: ${runtime.data.storageRetention}`),
    h('h2', null, 'Head block'),
    table(
      ['Series', 'Series limit', 'Label pairs', 'Chunks', 'Min time', 'Max time'],
      [
        [
          formatCount(hs.numSeries),
          limitUse(hs.numSeries, limit),
          formatCount(hs.numLabelPairs),
          formatCount(hs.chunkCount),
          time(hs.minTime),
          time(hs.maxTime),
        ],
      ],
    ),
    ...(snapshot
      ? [
          h('h2', null, 'Snapshots'),
          table(['Last success', 'Last snapshot', 'Duration', 'Size', 'Failures'], [snapshotRow(snapshot)]),
        ]
      : []),
    top('Top series count by metric name', 'Metric name', data.seriesCountByMetricName),
    top('Top label value count by label name', 'Label name', data.labelValueCountByLabelName),
    top('Top label memory use by label name', 'Label name', data.memoryInBytesByLabelName, 'Bytes'),
    top('Top series count by label value pair', 'Label pair', data.seriesCountByLabelValuePair),
  );
}
