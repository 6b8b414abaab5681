// The Table tab's rendering of every result type.

import { emptyState, h, table } from '../dom';
import { formatCount, formatTimeMs } from '../format';
import { seriesNameNode } from '../labels';
import type { Histogram, QueryData, Sample } from './types';

/** Rendering tens of thousands of rows freezes the page for no reader's
 * benefit; beyond this the table says how many it left out and offers the rest. */
export const maxRows = 1000;

function histogramText(hist: Histogram): string {
  return `count: ${hist.count} sum: ${hist.sum} buckets: ${hist.buckets?.length ?? 0}`;
}

function samplesNode(values: Sample[], utc: boolean): HTMLElement {
  return h(
    'div',
    { className: 'samples' },
    values.map(([t, v]) => h('div', null, v, ' ', h('span', { className: 'muted' }, `@${t} (${formatTimeMs(t * 1000, utc)})`))),
  );
}

export function renderTable(d: QueryData, utc: boolean, limit = maxRows, showAll?: () => void): HTMLElement | HTMLElement[] {
  switch (d.resultType) {
    case 'scalar':
    case 'string':
      return table([d.resultType, 'Value'], [[h('span', { className: 'muted' }, d.resultType), d.result[1]]], 'result');
    case 'vector':
    case 'matrix': {
      if (d.result.length === 0) return emptyState('Empty query result.');
      const rows = d.result.slice(0, limit).map((s) => {
        let value: Node | string = '';
        if ('value' in s && s.value) value = s.value[1];
        else if ('histogram' in s && s.histogram) value = histogramText(s.histogram[1]);
        else if ('values' in s || 'histograms' in s) {
          const hs = ('histograms' in s && s.histograms) || [];
          value = samplesNode([...(('values' in s && s.values) || []), ...hs.map(([t, hg]): Sample => [t, histogramText(hg)])], utc);
        }
        return [seriesNameNode(s.metric), value];
      });
      const out: HTMLElement[] = [table(['Series', 'Value'], rows, 'result')];
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
