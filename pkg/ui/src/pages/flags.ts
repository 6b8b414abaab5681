// Flags: the command-line flags, with a filter; a click on a column's name
// sorts by it, a second click reverses.

import { get } from '../api';
import { emptyState, h, replace, table } from '../dom';

type Column = 0 | 1;

export async function render(root: HTMLElement): Promise<void> {
  const { data } = await get<Record<string, string>>('status/flags');
  const flags = Object.entries(data);
  let sortBy: Column = 0;
  let desc = false;
  let filter = '';
  const body = h('div');
  const header = (col: Column, label: string) =>
    h(
      'button',
      {
        type: 'button',
        className: 'sort',
        'aria-sort': sortBy === col ? (desc ? 'descending' : 'ascending') : 'none',
        onclick: () => {
          desc = sortBy === col ? !desc : false;
          sortBy = col;
          draw();
        },
      },
      label,
      sortBy === col ? (desc ? ' ▼' : ' ▲') : '',
    );
  const draw = () => {
    const f = filter.toLowerCase();
    const rows = flags
      .filter(([k, v]) => k.toLowerCase().includes(f) || v.toLowerCase().includes(f))
      .sort((a, b) => a[sortBy].localeCompare(b[sortBy]) * (desc ? -1 : 1));
    replace(
      body,
      rows.length
        ? table([header(0, 'Flag'), header(1, 'Value')], rows.map(([k, v]) => [h('code', null, `--${k}`), v]), 'kv')
        : emptyState('No flags match.'),
    );
  };
  replace(
    root,
    h('h1', null, 'Command-line flags'),
    h('input', {
      type: 'search',
      className: 'filter',
      placeholder: 'Filter by flag name or value',
      'aria-label': 'Filter flags',
      oninput: (e: Event) => {
        filter = (e.target as HTMLInputElement).value;
        draw();
      },
    }),
    body,
  );
  draw();
}
