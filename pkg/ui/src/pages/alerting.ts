// Shapes and formatting shared by the Alerts and Rules pages.

import { h } from '../dom';
import { formatDuration } from '../format';
import type { Labels } from '../labels';

export type AlertState = 'inactive' | 'pending' | 'firing';

export interface Alert {
  labels: Labels;
  annotations: Labels;
  state: AlertState | 'unknown';
  activeAt?: string;
  keepFiringSince?: string;
  value: string;
}

export interface Rule {
  name: string;
  query: string;
  type: 'recording' | 'alerting';
  health: 'ok' | 'err' | 'unknown';
  lastError?: string;
  lastEvaluation: string;
  evaluationTime: number;
  labels?: Labels;
  // Alerting rules only.
  state?: AlertState;
  duration?: number;
  keepFiringFor?: number;
  annotations?: Labels;
  alerts?: Alert[];
}

export interface Group {
  name: string;
  file: string;
  interval: number;
  rules: Rule[];
  lastEvaluation: string;
  evaluationTime: number;
}

/** formatAlertValue writes an alert's value as Prometheus's UI does, as a
 * JavaScript number: the API's "1e+00" reads "1"; NaN and ±Inf stay as sent. */
export function formatAlertValue(v: string): string {
  const n = Number(v);
  return Number.isNaN(n) ? v : String(n);
}

export function stateBadge(state: string): HTMLElement {
  const cls = state === 'firing' ? 'down' : state === 'pending' ? 'pending' : state === 'inactive' ? 'up' : 'unknown';
  return h('span', { className: `health ${cls}` }, state.toUpperCase());
}

/** ruleDetails lists an alerting rule's for, keep_firing_for, labels and annotations. */
export function ruleDetails(r: Rule): HTMLElement {
  const rows: [string, Node | string][] = [];
  if (r.duration) rows.push(['for', formatDuration(r.duration * 1000)]);
  if (r.keepFiringFor) rows.push(['keep_firing_for', formatDuration(r.keepFiringFor * 1000)]);
  for (const [k, v] of Object.entries(r.labels ?? {})) rows.push([`label ${k}`, v]);
  for (const [k, v] of Object.entries(r.annotations ?? {})) rows.push([`annotation ${k}`, v]);
  return h('dl', { className: 'rule-details' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}
