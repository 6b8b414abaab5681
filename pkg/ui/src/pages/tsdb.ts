// TSDB status: head block stats and the top cardinality lists.

import { get } from '../api';
import { emptyState, h, replace, table } from '../dom';
import { formatCount, formatTime } from '../format';

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

/** seriesLimit reads miniprom's bound on series held (--storage.max-series)
 * from its self-metrics; 0 when there is none or /metrics cannot be read. */
export async function seriesLimit(): Promise<number> {
  try {
    const resp = await fetch(new URL('./metrics', document.baseURI));
    if (!resp.ok) return 0;
    return parseSeriesLimit(await resp.text());
  } catch {
    return 0;
  }
}

/** parseSeriesLimit finds miniprom_tsdb_series_limit in a /metrics text. */
export function parseSeriesLimit(metrics: string): number {
  const m = /^miniprom_tsdb_series_limit ([0-9.e+]+)$/m.exec(metrics);
  return m ? Number(m[1]) : 0;
}

/** limitUse says how close the series held are to the bound. */
export function limitUse(series: number, limit: number): string {
  if (limit <= 0) return 'no limit';
  return `${formatCount(limit)} (${((100 * series) / limit).toFixed(1)}% used)`;
}

export async function render(root: HTMLElement): Promise<void> {
  const [{ data }, limit, runtime] = await Promise.all([
    get<TSDBStatus>('status/tsdb'),
    seriesLimit(),
    // miniprom's storageRetention ends with where samples are held.
    get<{ storageRetention: string }>('status/runtimeinfo'),
  ]);
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
    top('Top series count by metric name', 'Metric name', data.seriesCountByMetricName),
    top('Top label value count by label name', 'Label name', data.labelValueCountByLabelName),
    top('Top label memory use by label name', 'Label name', data.memoryInBytesByLabelName, 'Bytes'),
    top('Top series count by label value pair', 'Label pair', data.seriesCountByLabelValuePair),
  );
}
