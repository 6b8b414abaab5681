// Label sets as PromQL writes them.

import { h } from './dom';

export type Labels = Record<string, string>;

function quote(v: string): string {
  return JSON.stringify(v);
}

/** seriesName writes a label set as a series selector: name{a="1", b="2"}. */
export function seriesName(labels: Labels): string {
  const { __name__: name = '', ...rest } = labels;
  const pairs = Object.entries(rest).map(([k, v]) => `${k}=${quote(v)}`);
  return pairs.length === 0 && name ? name : `${name}{${pairs.join(', ')}}`;
}

/** seriesNameNode is seriesName with the metric name and label names styled. */
export function seriesNameNode(labels: Labels): HTMLElement {
  const { __name__: name = '', ...rest } = labels;
  const parts: (Node | string)[] = [];
  Object.entries(rest).forEach(([k, v], i) => {
    if (i > 0) parts.push(', ');
    // One element per pair, so a click on it can tell which pair it was.
    parts.push(h('span', { className: 'label-pair', 'data-name': k, 'data-value': v }, h('span', { className: 'label-name' }, k), '=', h('span', { className: 'label-value' }, quote(v))));
  });
  return h(
    'span',
    { className: 'series-name' },
    name && h('span', { className: 'metric-name' }, name),
    parts.length > 0 || !name ? ['{', ...parts, '}'] : null,
  );
}

/** labelBadges shows a label set as a wrap of name="value" chips. */
export function labelBadges(labels: Labels): HTMLElement {
  return h(
    'span',
    { className: 'badges' },
    Object.entries(labels).map(([k, v]) => h('span', { className: 'badge' }, `${k}=${quote(v)}`)),
  );
}
