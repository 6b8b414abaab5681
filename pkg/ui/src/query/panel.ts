// One query panel: editor, Table and Graph tabs, and their controls.

import type { EditorView } from '@codemirror/view';
import { get } from '../api';
import { refreshSelect } from '../refresh';
import { loadSettings } from '../settings';
import { errorBox, h, replace } from '../dom';
import { formatCount, formatDuration, humanizeDuration, parseDuration } from '../format';
import { autoStep, type PanelState, type Tab } from '../urlstate';
import { ensureSyntaxTree, syntaxTree } from '@codemirror/language';
import { createEditor, setDoc } from './editor';
import type { SortKey } from './csv';
import { addMatcher } from './matcher';
import type { Graph, GraphOptions } from './graph';
import { recentQueries, rememberQuery } from './history';
import { maxRows, renderTable } from './table';
import { TimeInput } from './timeinput';
import { resultCount, type QueryData, type RangeSeries } from './types';

/** What a panel needs from its page. */
export interface PanelContext {
  /** changed reports a state change that ran no query. */
  changed(): void;
  /** executed reports that the panel ran its query with its current state. */
  executed(): void;
  remove(p: Panel): void;
  utc(): boolean;
}

// The steps of the range's − and + buttons, as in Prometheus's UI.
const rangeSteps = ['1s', '10s', '1m', '5m', '15m', '30m', '1h', '2h', '6h', '12h', '1d', '2d', '1w', '2w', '4w', '8w', '1y'].map(
  (s) => parseDuration(s)!,
);

/** The comparisons offered: the same query this much earlier. */
const compareChoices: [string, string][] = [
  ['', 'nothing'],
  ['1h', '1 hour earlier'],
  ['1d', '1 day earlier'],
  ['1w', '1 week earlier'],
];

let panelCount = 0;

export class Panel {
  readonly el: HTMLElement;
  private readonly editor: EditorView;
  private readonly tabButtons: Record<Tab, HTMLButtonElement>;
  private readonly tableControls: HTMLElement;
  private readonly graphControls: HTMLElement;
  private readonly timeInputs: TimeInput[];
  private readonly historyList = h('ul', { className: 'history', hidden: true, 'aria-label': 'Query history' });
  private readonly rangeInput: HTMLInputElement;
  private readonly stepInput: HTMLInputElement;
  private readonly unzoomButton: HTMLButtonElement;
  private compareSelect!: HTMLSelectElement;
  /** Re-runs the query on a timer; a fixed end time would give the same answer, so only "now" refreshes. */
  private readonly refresh = refreshSelect(() => {
    if (this.state.endTime === null) this.execute();
  });
  /** Ranges and ends before each drag-to-zoom, newest last. */
  private readonly zooms: { range: number; endTime: number | null }[] = [];
  private readonly messages = h('div', { className: 'messages' });
  private readonly stats = h('div', { className: 'stats muted' });
  private readonly output = h('div', { className: 'output' });
  private abort?: AbortController;
  private graph?: Graph;
  private heatmap?: { destroy(): void };
  /** The last graph result, kept to redraw on a time zone change. */
  private lastRange?: { series: RangeSeries[]; past?: RangeSeries[]; start: number; end: number; step: number };
  /** The last table result and how many rows it shows. */
  private lastTable?: QueryData;
  private rowLimit = maxRows;
  private sort: SortKey = { by: 'none' };

  constructor(
    readonly state: PanelState,
    private readonly ctx: PanelContext,
  ) {
    const id = ++panelCount;
    const editorEl = h('div', { className: 'editor' });
    this.tabButtons = {
      table: h('button', { type: 'button', role: 'tab', onclick: () => this.setTab('table') }, 'Table'),
      graph: h('button', { type: 'button', role: 'tab', onclick: () => this.setTab('graph') }, 'Graph'),
      explain: h('button', { type: 'button', role: 'tab', onclick: () => this.setTab('explain') }, 'Explain'),
    };
    const onChange = (t: number | null) => {
      state.endTime = t;
      this.update();
    };
    const utc = () => ctx.utc();
    // The table steps by the graph's resolution, so it can walk the graph's
    // points; the graph's end moves by half its range, as in Prometheus.
    const evalTime = new TimeInput({ label: 'Evaluation time', utc, onChange, step: () => state.step ?? autoStep(state.range) });
    const endTime = new TimeInput({ label: 'End time', utc, onChange, step: () => Math.max(Math.round(state.range / 2000) * 1000, 1000) });
    this.timeInputs = [evalTime, endTime];
    this.tableControls = h('div', { className: 'controls' }, evalTime.el);
    this.rangeInput = h('input', { type: 'text', className: 'short', 'aria-label': 'Range', onchange: () => this.setRange(this.rangeInput.value) });
    this.stepInput = h('input', { type: 'text', className: 'short', 'aria-label': 'Resolution', onchange: () => this.setStep(this.stepInput.value) });
    const check = (label: string, key: 'stacked' | 'yZero') =>
      h(
        'label',
        { className: 'check' },
        h('input', {
          type: 'checkbox',
          name: key,
          checked: state[key],
          onchange: (e: Event) => {
            state[key] = (e.target as HTMLInputElement).checked;
            this.update();
          },
        }),
        label,
      );
    this.unzoomButton = h('button', { type: 'button', className: 'unzoom', title: 'Back to the range before the last zoom', onclick: () => this.unzoom() }, 'Undo zoom');
    this.graphControls = h(
      'div',
      { className: 'controls' },
      h('button', { type: 'button', title: 'Shorter range', onclick: () => this.stepRange(-1) }, '−'),
      this.rangeInput,
      h('button', { type: 'button', title: 'Longer range', onclick: () => this.stepRange(1) }, '+'),
      endTime.el,
      h('label', null, 'Resolution ', this.stepInput),
      check('Stacked', 'stacked'),
      check('Y from 0', 'yZero'),
      h(
        'label',
        null,
        'Compare with ',
        (this.compareSelect = h(
          'select',
          {
            'aria-label': 'Compare with',
            onchange: () => {
              state.compare = parseDuration(this.compareSelect.value) || null;
              this.update();
            },
          },
          compareChoices.map(([value, label]) => h('option', { value }, label)),
        )),
      ),
      this.unzoomButton,
    );
    this.el = h(
      'section',
      { className: 'panel', 'aria-label': `Query panel ${id}` },
      h(
        'div',
        { className: 'expr-row' },
        editorEl,
        h('button', { type: 'button', className: 'primary execute', onclick: () => this.execute() }, 'Execute'),
        h('button', { type: 'button', className: 'format', title: 'Format the expression', onclick: () => void this.format() }, 'Format'),
        h('button', { type: 'button', className: 'metrics', title: 'Explore metrics and labels', onclick: () => void this.explore() }, 'Metrics'),
        h('button', { type: 'button', className: 'history-button', title: 'Recent queries', 'aria-expanded': 'false', onclick: (e: Event) => this.toggleHistory(e.currentTarget as HTMLElement) }, 'History'),
        h('button', { type: 'button', className: 'remove', title: 'Remove panel', 'aria-label': 'Remove panel', onclick: () => this.destroy() }, '×'),
      ),
      this.historyList,
      h('div', { className: 'tabs', role: 'tablist' }, this.tabButtons.table, this.tabButtons.graph, this.tabButtons.explain, this.refresh.el),
      this.tableControls,
      this.graphControls,
      this.messages,
      this.stats,
      this.output,
    );
    this.editor = createEditor(editorEl, {
      doc: state.expr,
      onExecute: () => this.execute(),
      // The URL follows executed queries only, so Back returns to the last one run.
      onChange: (expr) => {
        state.expr = expr;
      },
    });
    this.syncControls();
  }

  focus(): void {
    this.editor.focus();
  }

  destroy(): void {
    this.refresh.stop();
    this.abort?.abort();
    this.graph?.destroy();
    this.editor.destroy();
    this.el.remove();
    this.ctx.remove(this);
  }

  /** syncControls shows the state in the tab buttons and inputs. */
  syncControls(): void {
    const s = this.state;
    for (const [tab, b] of Object.entries(this.tabButtons)) {
      b.classList.toggle('active', tab === s.tab);
      b.setAttribute('aria-selected', String(tab === s.tab));
    }
    // Explain runs its sub-expressions at the table's evaluation time.
    this.tableControls.hidden = s.tab === 'graph';
    this.graphControls.hidden = s.tab !== 'graph';
    for (const input of this.timeInputs) input.set(s.endTime);
    this.rangeInput.value = formatDuration(s.range);
    this.stepInput.value = s.step === null ? '' : formatDuration(s.step);
    this.stepInput.placeholder = `auto (${formatDuration(autoStep(s.range))})`;
    // The input grows with its placeholder or value, so "auto (1h30m)" is never cut.
    const chars = Math.max(this.stepInput.placeholder.length, this.stepInput.value.length, 6);
    this.stepInput.style.width = `calc(${chars + 1}ch + 20px)`;
    this.unzoomButton.hidden = this.zooms.length === 0;
    const compare = s.compare === null ? '' : formatDuration(s.compare);
    // A link may carry an offset the list lacks; offer it too.
    if (compare && !compareChoices.some(([v]) => v === compare)) this.compareSelect.append(h('option', { value: compare }, `${compare} earlier`));
    this.compareSelect.value = compare;
  }

  /** redraw draws the last result again, without querying again, for a new
   * time zone or theme. */
  redraw(): void {
    this.syncControls();
    if (this.state.tab === 'graph' && this.lastRange) void this.showGraph();
    if (this.state.tab === 'table' && this.lastTable) this.showTable();
  }

  private update(): void {
    this.syncControls();
    this.execute();
  }

  /** format replaces the expression with the server's formatting of it. */
  private async format(): Promise<void> {
    const expr = this.state.expr.trim();
    if (!expr) return;
    try {
      const { data } = await get<string>('format_query', { query: expr });
      setDoc(this.editor, data);
      this.state.expr = data;
      replace(this.messages);
    } catch (err) {
      replace(this.messages, errorBox(err));
    }
  }

  /** explore opens the metrics explorer; its choice replaces the editor's selection. */
  private async explore(): Promise<void> {
    const { openExplorer } = await import('./explorer');
    await openExplorer((text) => {
      this.editor.dispatch(this.editor.state.replaceSelection(text));
      this.state.expr = this.editor.state.doc.toString();
      this.editor.focus();
    });
  }

  private toggleHistory(button: HTMLElement): void {
    const open = this.historyList.hidden;
    button.setAttribute('aria-expanded', String(open));
    this.historyList.hidden = !open;
    if (!open) return;
    const recent = recentQueries();
    replace(
      this.historyList,
      recent.length === 0
        ? h('li', { className: 'empty' }, 'No queries yet.')
        : recent.map((q) =>
            h(
              'li',
              null,
              h(
                'button',
                {
                  type: 'button',
                  onclick: () => {
                    this.historyList.hidden = true;
                    button.setAttribute('aria-expanded', 'false');
                    setDoc(this.editor, q);
                    this.state.expr = q;
                    this.execute();
                  },
                },
                q,
              ),
            ),
          ),
    );
  }

  private setTab(tab: Tab): void {
    if (this.state.tab === tab) return;
    this.state.tab = tab;
    this.update();
  }

  private setRange(text: string): void {
    const r = parseDuration(text);
    if (!r) {
      this.rangeInput.classList.add('invalid');
      return;
    }
    this.rangeInput.classList.remove('invalid');
    this.state.range = r;
    this.update();
  }

  private stepRange(dir: 1 | -1): void {
    const r = this.state.range;
    const next = dir > 0 ? rangeSteps.find((s) => s > r) : [...rangeSteps].reverse().find((s) => s < r);
    if (next) {
      this.state.range = next;
      this.update();
    }
  }

  /** zoom graphs the range selected on the chart, remembering the old one. */
  private zoom(start: number, end: number): void {
    // Whole seconds: the link format's range and end have no finer unit.
    const endS = Math.ceil(end / 1000) * 1000;
    const range = Math.max(endS - Math.floor(start / 1000) * 1000, 1000);
    this.zooms.push({ range: this.state.range, endTime: this.state.endTime });
    this.state.range = range;
    this.state.endTime = endS;
    // A fixed step coarser than a tenth of the new range would leave a few dots.
    if (this.state.step !== null && this.state.step > range / 10) this.state.step = null;
    this.update();
  }

  /** addMatcher narrows every selector of the query to name="value" and runs it. */
  private addMatcher(name: string, value: string): void {
    const st = this.editor.state;
    const tree = ensureSyntaxTree(st, st.doc.length, 200) ?? syntaxTree(st);
    const next = addMatcher(st.doc.toString(), tree, name, value);
    if (next === this.state.expr) return;
    setDoc(this.editor, next);
    this.state.expr = next;
    this.execute();
  }

  private unzoom(): void {
    const prev = this.zooms.pop();
    if (!prev) return;
    this.state.range = prev.range;
    this.state.endTime = prev.endTime;
    this.update();
  }

  private setStep(text: string): void {
    const step = text.trim() === '' ? null : parseDuration(text);
    if (step === 0 || (step === null && text.trim() !== '')) {
      this.stepInput.classList.add('invalid');
      return;
    }
    this.stepInput.classList.remove('invalid');
    this.state.step = step;
    this.update();
  }

  /** execute runs the current tab's query, cancelling one still running. */
  execute(): void {
    this.abort?.abort();
    const expr = this.state.expr.trim();
    if (!expr) {
      this.clear();
      this.ctx.changed();
      return;
    }
    rememberQuery(expr);
    this.ctx.executed();
    const abort = new AbortController();
    this.abort = abort;
    this.el.classList.add('loading');
    const run =
      this.state.tab === 'table' ? this.runTable(expr, abort.signal) : this.state.tab === 'graph' ? this.runGraph(expr, abort.signal) : this.runExplain(abort.signal);
    run
      .catch((err: unknown) => {
        if (abort.signal.aborted) return;
        this.clear();
        this.messages.append(errorBox(err));
      })
      .finally(() => {
        if (this.abort === abort) this.el.classList.remove('loading');
      });
  }

  private clear(): void {
    this.graph?.destroy();
    this.graph = undefined;
    this.heatmap?.destroy();
    this.heatmap = undefined;
    this.lastRange = undefined;
    this.lastTable = undefined;
    replace(this.messages);
    replace(this.stats);
    replace(this.output);
  }

  private showNotes(warnings: string[], infos: string[]): void {
    if (!loadSettings().warnings) {
      replace(this.messages);
      return;
    }
    replace(
      this.messages,
      warnings.map((w) => h('div', { className: 'alert warning' }, `Warning: ${w}`)),
      infos.map((i) => h('div', { className: 'alert info' }, `Info: ${i}`)),
    );
  }

  private showStats(d: QueryData, loadMs: number, extra: string[] = []): void {
    const parts = [`Load time: ${humanizeDuration(loadMs)}`];
    const evalS = d.stats?.timings?.evalTotalTime;
    if (evalS !== undefined) parts.push(`Evaluation: ${humanizeDuration(evalS * 1000)}`);
    const samples = d.stats?.samples?.totalQueryableSamples;
    if (samples !== undefined) parts.push(`Samples: ${formatCount(samples)}`);
    parts.push(...extra, `Result ${d.resultType === 'matrix' ? 'series' : 'count'}: ${formatCount(resultCount(d))}`);
    replace(this.stats, parts.join(' · '));
  }

  /** runExplain shows the expression's tree; each node runs its own query. */
  private async runExplain(signal: AbortSignal): Promise<void> {
    const { exprTree, renderExplain } = await import('./explain');
    const st = this.editor.state;
    const tree = exprTree(ensureSyntaxTree(st, st.doc.length, 200) ?? syntaxTree(st), st.doc.toString());
    this.clear();
    replace(this.output, tree ? renderExplain(tree, this.state.endTime, signal) : h('p', { className: 'empty' }, 'No expression to explain.'));
  }

  private async runTable(expr: string, signal: AbortSignal): Promise<void> {
    const params: Record<string, string> = { query: expr, stats: 'all' };
    if (this.state.endTime !== null) params.time = String(this.state.endTime / 1000);
    const t0 = performance.now();
    const { data, warnings, infos } = await get<QueryData>('query', params, signal);
    const loadMs = performance.now() - t0;
    this.clear();
    this.showNotes(warnings, infos);
    this.showStats(data, loadMs);
    this.lastTable = data;
    this.rowLimit = maxRows;
    this.showTable();
  }

  private showTable(): void {
    const d = this.lastTable!;
    replace(
      this.output,
      renderTable(d, {
        utc: this.ctx.utc(),
        limit: this.rowLimit,
        showAll: () => {
          this.rowLimit = Infinity;
          this.showTable();
        },
        sort: this.sort,
        onSort: (key) => {
          this.sort = key;
          this.showTable();
        },
      }),
    );
  }

  private async runGraph(expr: string, signal: AbortSignal): Promise<void> {
    const end = this.state.endTime ?? Date.now();
    const start = end - this.state.range;
    const step = this.state.step ?? autoStep(this.state.range);
    const t0 = performance.now();
    const range = (offset: number) =>
      get<QueryData>('query_range', { query: expr, start: String((start - offset) / 1000), end: String((end - offset) / 1000), step: String(step / 1000), stats: 'all' }, signal);
    // The comparison runs the same expression over the earlier range rather
    // than rewriting it with "offset", which works for any expression
    // (functions, subqueries, @) and gives a selector's "offset" values.
    const offset = this.state.compare;
    // Load the chart code alongside the data, not after it.
    const [{ data, warnings, infos }, , pastResult] = await Promise.all([range(0), import('./graph'), offset ? range(offset) : undefined]);
    const loadMs = performance.now() - t0;
    this.clear();
    this.showNotes(warnings, infos);
    this.showStats(data, loadMs, [`Resolution: ${formatDuration(step)}`]);
    if (data.resultType !== 'matrix') {
      this.messages.append(errorBox(`The expression returns a ${data.resultType}; only range vectors can be graphed. Use the Table tab.`));
      return;
    }
    let past: RangeSeries[] | undefined;
    if (offset && pastResult?.data.resultType === 'matrix') {
      const shift = offset / 1000;
      past = pastResult.data.result.map((s) => ({ metric: s.metric, values: s.values?.map(([t, v]): [number, string] => [t + shift, v]) }));
    }
    this.lastRange = { series: data.result, past, start, end, step };
    await this.showGraph();
  }

  private async showGraph(): Promise<void> {
    const r = this.lastRange!;
    const series = r.series.filter((s) => s.values?.length);
    const histograms = r.series.filter((s) => s.histograms?.length);
    // Each view's code loads only when a result needs it.
    const [{ drawGraph }, heatmap] = await Promise.all([import('./graph'), histograms.length ? import('./heatmap') : undefined]);
    this.graph?.destroy();
    this.heatmap?.destroy();
    this.heatmap = undefined;
    if (series.length === 0 && histograms.length === 0) {
      replace(this.output, h('p', { className: 'empty' }, 'No data points found.'));
      return;
    }
    const heatmapEl = h('div', { className: 'heatmap-box' });
    if (series.length === 0) {
      replace(this.output, heatmapEl);
    } else {
      const chart = h('div', { className: 'chart' });
      const legend = h('div', { className: 'legend-box' });
      replace(this.output, chart, legend, histograms.length ? heatmapEl : null);
      this.graph = drawGraph(chart, legend, series, this.graphOptions(r));
    }
    if (heatmap) this.heatmap = heatmap.drawHeatmap(heatmapEl, histograms, { start: r.start, end: r.end, step: r.step, utc: this.ctx.utc() });
  }

  private graphOptions(r: NonNullable<Panel['lastRange']>): GraphOptions {
    return {
      start: r.start,
      end: r.end,
      step: r.step,
      stacked: this.state.stacked,
      yZero: this.state.yZero,
      utc: this.ctx.utc(),
      onZoom: (start, end) => this.zoom(start, end),
      compare: r.past && this.state.compare ? { series: r.past.filter((s) => s.values?.length), label: `offset ${formatDuration(this.state.compare)}` } : undefined,
      onAddMatcher: (name, value) => this.addMatcher(name, value),
    };
  }
}
