// The Table tab's rendering of every result type, with a sort order, a CSV
// download, and native histograms' buckets.

import { emptyState, h, table } from '../dom';
import { formatCount, formatTimeMs } from '../format';
import { seriesNameNode } from '../labels';
import { labelNames, sortRows, toCSV, type SortKey } from './csv';
import type { Histogram, QueryData, Sample } from './types';

export interface TableOptions {
  utc: boolean;
  limit: number;
  showAll?: () => void;
  sort: SortKey;
  onSort?: (key: SortKey) => void;
}

/** Rendering tens of thousands of rows freezes the page for no reader's
 * benefit; beyond this the table says how many it left out and offers the rest. */
export const maxRows = 1000;

/** bucketRange writes a native histogram bucket's bounds in Prometheus's
 * notation; the boundary rule says which ends are inclusive. */
export function bucketRange([rule, lo, hi]: [number, string, string, string]): string {
  const left = rule === 1 || rule === 3 ? '[' : '(';
  const right = rule === 0 || rule === 3 ? ']' : ')';
  return `${left}${lo}, ${hi}${right}`;
}

/** histogramNode shows count and sum, and opens onto the bucket list. */
function histogramNode(hist: Histogram): HTMLElement {
  const buckets = hist.buckets ?? [];
  return h(
    'details',
    { className: 'histogram' },
    h('summary', null, `count: ${hist.count} sum: ${hist.sum} (${buckets.length} buckets)`),
    buckets.length ? table(['Bucket', 'Count'], buckets.map((b) => [bucketRange(b), b[3]]), 'kv buckets') : null,
  );
}

function histogramText(hist: Histogram): string {
  return `count: ${hist.count} sum: ${hist.sum} buckets: ${hist.buckets?.length ?? 0}`;
}

function sortValue(k: SortKey): string {
  if (k.by === 'none') return 'none';
  if (k.by === 'label') return `label:${k.name}:${k.desc ? 'desc' : 'asc'}`;
  return `${k.by}:${k.desc ? 'desc' : 'asc'}`;
}

function parseSort(v: string): SortKey {
  const [by, a, b] = v.split(':');
  if (by === 'value' || by === 'series') return { by, desc: a === 'desc' };
  if (by === 'label') return { by, name: a, desc: b === 'desc' };
  return { by: 'none' };
}

/** toolbar offers the sort orders and the CSV download. */
function toolbar(d: QueryData, o: TableOptions): HTMLElement {
  const names = d.resultType === 'vector' || d.resultType === 'matrix' ? labelNames(d.result) : [];
  const choices: [string, string][] = [
    ['none', 'result order'],
    ['value:desc', 'value, largest first'],
    ['value:asc', 'value, smallest first'],
    ['series:asc', 'series'],
    ...names.flatMap((n): [string, string][] => [
      [`label:${n}:asc`, `${n} A–Z`],
      [`label:${n}:desc`, `${n} Z–A`],
    ]),
  ];
  const select = h(
    'select',
    { 'aria-label': 'Sort by', onchange: () => o.onSort?.(parseSort(select.value)) },
    choices.map(([value, label]) => h('option', { value }, label)),
  );
  select.value = sortValue(o.sort);
  const download = () => {
    const url = URL.createObjectURL(new Blob([toCSV(d)], { type: 'text/csv' }));
    const a = h('a', { href: url, download: 'query-result.csv' });
    document.body.append(a);
    a.click();
    a.remove();
    URL.revokeObjectURL(url);
  };
  return h(
    'div',
    { className: 'toolbar table-tools' },
    names.length ? h('label', null, 'Sort by ', select) : null,
    h('button', { type: 'button', onclick: download }, 'Download CSV'),
  );
}

function samplesNode(values: Sample[], utc: boolean): HTMLElement {
  return h(
    'div',
    { className: 'samples' },
    values.map(([t, v]) => h('div', null, v, ' ', h('span', { className: 'muted' }, `@${t} (${formatTimeMs(t * 1000, utc)})`))),
  );
}

export function renderTable(d: QueryData, o: TableOptions): HTMLElement | HTMLElement[] {
  const { utc, limit, showAll } = o;
  switch (d.resultType) {
    case 'scalar':
    case 'string':
      return [toolbar(d, o), table([d.resultType, 'Value'], [[h('span', { className: 'muted' }, d.resultType), d.result[1]]], 'result')];
    case 'vector':
    case 'matrix': {
      if (d.result.length === 0) return emptyState('Empty query result.');
      const sorted: (typeof d.result)[number][] = sortRows<(typeof d.result)[number]>(d.result, o.sort);
      const rows = sorted.slice(0, limit).map((s) => {
        let value: Node | string = '';
        if ('value' in s && s.value) value = s.value[1];
        else if ('histogram' in s && s.histogram) value = histogramNode(s.histogram[1]);
        else if ('values' in s || 'histograms' in s) {
          const hs = ('histograms' in s && s.histograms) || [];
          value = samplesNode([...(('values' in s && s.values) || []), ...hs.map(([t, hg]): Sample => [t, histogramText(hg)])], utc);
        }
        return [seriesNameNode(s.metric), value];
      });
      const out: HTMLElement[] = [toolbar(d, o), table(['Series', 'Value'], rows, 'result')];
      if (d.result.length > limit) {
        out.push(
          h(
            'p',
            { className: 'muted row-limit' },
            `Showing the first ${formatCount(limit)} of ${formatCount(d.result.length)} results. `,
            showAll && h('button', { type: 'button', onclick: showAll }, `Show all ${formatCount(d.result.length)}`),
          ),
        );
      }
      return out;
    }
  }
}
