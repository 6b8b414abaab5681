// The Table tab's CSV export and its sort orders: pure functions over query
// results, covered by csv.test.ts.

import { parseValue } from '../format';
import type { Labels } from '../labels';
import type { Histogram, InstantSample, QueryData, RangeSeries } from './types';

/** A sort order of the table: the API's order, by value, by series name, or by one label. */
export type SortKey = { by: 'none' } | { by: 'value' | 'series'; desc: boolean } | { by: 'label'; name: string; desc: boolean };

type Row = InstantSample | RangeSeries;

/** rowValue is what "by value" sorts a row by: its value, or a range's last. */
function rowValue(r: Row): number {
  let v: string | undefined;
  if ('value' in r && r.value) v = r.value[1];
  else if ('histogram' in r && r.histogram) v = r.histogram[1].count;
  else if ('values' in r && r.values?.length) v = r.values[r.values.length - 1][1];
  else if ('histograms' in r && r.histograms?.length) v = r.histograms[r.histograms.length - 1][1].count;
  const n = v === undefined ? NaN : parseValue(v);
  return Number.isNaN(n) ? -Infinity : n;
}

function labelsText(l: Labels): string {
  return Object.entries(l)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** sortRows returns the rows in the key's order; missing labels sort last. */
export function sortRows<T extends Row>(rows: T[], key: SortKey): T[] {
  if (key.by === 'none') return rows;
  const sign = key.desc ? -1 : 1;
  const out = [...rows];
  switch (key.by) {
    case 'value':
      return out.sort((a, b) => sign * (rowValue(a) - rowValue(b)));
    case 'series':
      return out.sort((a, b) => sign * labelsText(a.metric).localeCompare(labelsText(b.metric)));
    case 'label':
      return out.sort((a, b) => {
        const [x, y] = [a.metric[key.name], b.metric[key.name]];
        if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? 1 : -1;
        return sign * x.localeCompare(y, undefined, { numeric: true });
      });
  }
}

/** labelNames lists the label names of the rows, __name__ first. */
export function labelNames(rows: Row[]): string[] {
  const names = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r.metric)) names.add(k);
  return [...names].sort((a, b) => (a === '__name__' ? -1 : b === '__name__' ? 1 : a.localeCompare(b)));
}

function cell(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function histogramCell(hg: Histogram): string {
  return JSON.stringify(hg);
}

/** toCSV writes a result as CSV (RFC 4180): one column per label name, then
 * the timestamp in Unix seconds and the value; a range vector has one row
 * per sample, and a native histogram's value is its JSON form. */
export function toCSV(d: QueryData): string {
  const lines: string[][] = [];
  if (d.resultType === 'scalar' || d.resultType === 'string') {
    lines.push(['timestamp', 'value'], [String(d.result[0]), d.result[1]]);
  } else {
    const names = labelNames(d.result);
    lines.push([...names, 'timestamp', 'value']);
    for (const r of d.result) {
      const labels = names.map((n) => r.metric[n] ?? '');
      if ('value' in r && r.value) lines.push([...labels, String(r.value[0]), r.value[1]]);
      if ('histogram' in r && r.histogram) lines.push([...labels, String(r.histogram[0]), histogramCell(r.histogram[1])]);
      if ('values' in r) for (const [t, v] of r.values ?? []) lines.push([...labels, String(t), v]);
      if ('histograms' in r) for (const [t, hg] of r.histograms ?? []) lines.push([...labels, String(t), histogramCell(hg)]);
    }
  }
  return lines.map((l) => l.map(cell).join(',')).join('\r\n') + '\r\n';
}
