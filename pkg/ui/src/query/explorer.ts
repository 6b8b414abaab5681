// The metrics explorer: fuzzy search over every metric name with its type
// and help, a label explorer for the chosen metric (its label names and
// values, from a bounded series lookup), and buttons that insert the metric
// or a selector into the query. Loaded on demand.

import { get } from '../api';
import { errorBox, h, replace } from '../dom';
import { formatCount } from '../format';
import { fuzzyFilter } from './fuzzy';

interface Metadata {
  type: string;
  help: string;
  unit: string;
}

/** Series fetched to list a metric's labels; enough to show what is there. */
const seriesLimit = 1000;

/** openExplorer shows the explorer as a modal dialog; insert receives the chosen text. */
export async function openExplorer(insert: (text: string) => void): Promise<void> {
  const list = h('ul', { className: 'explorer-list', 'aria-label': 'Metrics' });
  const detail = h('div', { className: 'explorer-detail' });
  const search = h('input', { type: 'search', className: 'filter', placeholder: 'Search metrics (fuzzy)', 'aria-label': 'Search metrics' });
  const count = h('span', { className: 'muted' });
  const dialog = h(
    'dialog',
    { className: 'explorer', 'aria-label': 'Metrics explorer' },
    h('div', { className: 'title-row' }, h('h2', null, 'Metrics explorer'), h('button', { type: 'button', onclick: () => dialog.close() }, 'Close')),
    h('div', { className: 'toolbar' }, search, count),
    h('div', { className: 'explorer-body' }, list, detail),
  );
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  search.focus();

  // Close first: closing a modal dialog puts the focus back where it was,
  // and insert moves it to the editor.
  const choose = (text: string) => {
    dialog.close();
    insert(text);
  };
  let names: string[] = [];
  let meta: Record<string, Metadata[]> = {};
  try {
    const [n, m] = await Promise.all([get<string[]>('label/__name__/values'), get<Record<string, Metadata[]>>('metadata').catch(() => ({ data: {} }))]);
    names = n.data ?? [];
    meta = m.data ?? {};
  } catch (err) {
    replace(detail, errorBox(err));
    return;
  }
  const draw = () => {
    const shown = fuzzyFilter(search.value.trim(), names);
    count.textContent = `${formatCount(shown.length)} of ${formatCount(names.length)} metrics`;
    replace(
      list,
      shown.map((name) => {
        const md = meta[name]?.[0];
        return h(
          'li',
          null,
          h(
            'button',
            { type: 'button', className: 'explorer-metric', onclick: () => void showLabels(name) },
            h('code', null, name),
            md ? h('span', { className: 'badge' }, md.type) : null,
            md?.help ? h('div', { className: 'muted' }, md.help) : null,
          ),
        );
      }),
    );
  };
  const showLabels = async (name: string) => {
    replace(detail, h('h3', null, name), h('p', { className: 'muted' }, 'Loading labels…'));
    try {
      const { data } = await get<Record<string, string>[]>('series', { 'match[]': name, limit: String(seriesLimit) });
      const labels = new Map<string, Set<string>>();
      for (const s of data) {
        for (const [k, v] of Object.entries(s)) {
          if (k === '__name__') continue;
          if (!labels.has(k)) labels.set(k, new Set());
          labels.get(k)!.add(v);
        }
      }
      replace(
        detail,
        h('h3', null, h('code', null, name)),
        h('p', { className: 'muted' }, `${formatCount(data.length)}${data.length >= seriesLimit ? '+' : ''} series`),
        h('button', { type: 'button', className: 'primary', onclick: () => choose(name) }, 'Insert metric'),
        [...labels.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, values]) =>
            h(
              'div',
              { className: 'explorer-label' },
              h('strong', null, k),
              h('span', { className: 'muted' }, ` (${formatCount(values.size)} value${values.size === 1 ? '' : 's'})`),
              h(
                'div',
                { className: 'badges' },
                [...values]
                  .sort()
                  .slice(0, 50)
                  .map((v) =>
                    h(
                      'button',
                      { type: 'button', className: 'badge', title: `Insert ${name}{${k}=${JSON.stringify(v)}}`, onclick: () => choose(`${name}{${k}=${JSON.stringify(v)}}`) },
                      v,
                    ),
                  ),
              ),
            ),
          ),
      );
    } catch (err) {
      replace(detail, errorBox(err));
    }
  };
  search.addEventListener('input', draw);
  draw();
}
