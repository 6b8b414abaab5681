// Flags: the command-line flags, with a filter.

import { get } from '../api';
import { emptyState, h, replace, table } from '../dom';

export async function render(root: HTMLElement): Promise<void> {
  const { data } = await get<Record<string, string>>('status/flags');
  const flags = Object.entries(data).sort(([a], [b]) => a.localeCompare(b));
  const body = h('div');
  const draw = (filter: string) => {
    const f = filter.toLowerCase();
    const rows = flags.filter(([k, v]) => k.toLowerCase().includes(f) || v.toLowerCase().includes(f));
    replace(
      body,
      rows.length ? table(['Flag', 'Value'], rows.map(([k, v]) => [h('code', null, `--${k}`), v]), 'kv') : emptyState('No flags match.'),
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
      oninput: (e: Event) => draw((e.target as HTMLInputElement).value),
    }),
    body,
  );
  draw('');
}
