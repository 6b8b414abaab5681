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

export async function render(root: HTMLElement): Promise<void> {
  const { data } = await get<TSDBStatus>('status/tsdb');
  const hs = data.headStats;
  replace(
    root,
    h('h1', null, 'TSDB status'),
    h('h2', null, 'Head block'),
    table(
      ['Series', 'Label pairs', 'Chunks', 'Min time', 'Max time'],
      [[formatCount(hs.numSeries), formatCount(hs.numLabelPairs), formatCount(hs.chunkCount), time(hs.minTime), time(hs.maxTime)]],
    ),
    top('Top series count by metric name', 'Metric name', data.seriesCountByMetricName),
    top('Top label value count by label name', 'Label name', data.labelValueCountByLabelName),
    top('Top label memory use by label name', 'Label name', data.memoryInBytesByLabelName, 'Bytes'),
    top('Top series count by label value pair', 'Label pair', data.seriesCountByLabelValuePair),
  );
}
