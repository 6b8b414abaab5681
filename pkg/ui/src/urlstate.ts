// The Query page keeps its state in the URL, in Prometheus's g<N>.* link
// format, so links from alerts' generatorURLs, Grafana and Prometheus's own
// UIs (classic and 3.x) open the same queries here, and links copied from here
// open in Prometheus.

import { formatDuration, formatTime, parseDuration, parseTime } from './format';

export type Tab = 'table' | 'graph' | 'explain';

/** PanelState is one query panel; times are Unix milliseconds. */
export interface PanelState {
  expr: string;
  tab: Tab;
  /** Graph range. */
  range: number;
  /** Graph end and table evaluation time, shared as in Prometheus; null is "now". */
  endTime: number | null;
  /** Graph step; null picks one from the range (about 250 points). */
  step: number | null;
  stacked: boolean;
  /** Start the y axis at zero rather than at the data's minimum. */
  yZero: boolean;
  /** Also graph the query this long (milliseconds) earlier, dashed; null is
   * no comparison. miniprom's own parameter (g0.compare), which Prometheus
   * ignores. */
  compare: number | null;
}

export const defaultRange = 60 * 60 * 1000;

export function newPanel(expr = ''): PanelState {
  return { expr, tab: 'table', range: defaultRange, endTime: null, step: null, stacked: false, yZero: false, compare: null };
}

/** decodePanels reads panels g0.*, g1.*, … until one has no expr. */
export function decodePanels(search: string | URLSearchParams): PanelState[] {
  const params = typeof search === 'string' ? new URLSearchParams(search) : search;
  const panels: PanelState[] = [];
  for (let i = 0; params.has(`g${i}.expr`); i++) {
    const get = (key: string) => params.get(`g${i}.${key}`);
    const p = newPanel(get('expr') ?? '');
    const tab = get('tab');
    // "0"/"1" are the classic UI's; "graph"/"table" are Prometheus 3's.
    if (tab === '0' || tab === 'graph') p.tab = 'graph';
    else if (tab === '1' || tab === 'table') p.tab = 'table';
    else if (tab === 'explain') p.tab = 'explain';
    const range = parseDuration(get('range_input') ?? '');
    if (range) p.range = range;
    // Both carry the same time; Prometheus writes both.
    const end = get('end_input') ?? get('moment_input');
    if (end) p.endTime = parseTime(end, true);
    const stepInput = parseInt(get('step_input') ?? '', 10);
    if (stepInput > 0) p.step = stepInput * 1000;
    const resType = get('res_type');
    const resStep = parseFloat(get('res_step') ?? '');
    if (resType === 'auto') p.step = null;
    else if ((resType === 'fixed' || resType === 'custom') && resStep > 0) p.step = resStep * 1000;
    const mode = get('display_mode');
    if (get('stacked') === '1' || mode === 'stacked') p.stacked = true;
    if (mode === 'lines') p.stacked = false;
    p.yZero = get('y_axis_min') === '0';
    const compare = parseDuration(get('compare') ?? '');
    if (compare) p.compare = compare;
    panels.push(p);
  }
  return panels;
}

/** encodePanels writes panels in Prometheus 3's link format, which its
 * classic UI's reader also understands for expr, range and end. */
export function encodePanels(panels: PanelState[]): URLSearchParams {
  const params = new URLSearchParams();
  panels.forEach((p, i) => {
    const set = (key: string, value: string) => params.append(`g${i}.${key}`, value);
    set('expr', p.expr);
    set('tab', p.tab);
    set('range_input', formatDuration(p.range));
    if (p.endTime !== null) {
      set('end_input', formatTime(p.endTime, true));
      set('moment_input', formatTime(p.endTime, true));
    }
    if (p.step === null) {
      set('res_type', 'auto');
    } else {
      set('res_type', 'custom');
      set('res_step', String(p.step / 1000));
    }
    set('display_mode', p.stacked ? 'stacked' : 'lines');
    if (p.yZero) set('y_axis_min', '0');
    if (p.compare) set('compare', formatDuration(p.compare));
  });
  return params;
}

/** autoStep is the step for a range when none is set: about 250 points,
 * at least one second, as Prometheus's UI picks it. */
export function autoStep(range: number): number {
  return Math.max(Math.floor(range / 250 / 1000), 1) * 1000;
}
