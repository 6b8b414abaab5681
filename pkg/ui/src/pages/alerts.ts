// Alerts: every alerting rule, inactive ones too, grouped by rule group as in
// Prometheus 3, with a state filter and a search; firing and pending rules
// list their alerts.

import { get } from '../api';
import { emptyState, h, replace, table } from '../dom';
import { ago, formatCount, formatTime } from '../format';
import { refreshSelect } from '../refresh';
import { labelBadges } from '../labels';
import { formatAlertValue, ruleDetails, stateBadge, type AlertState, type Group, type Rule } from './alerting';
import { queryLink } from './links';

const states: AlertState[] = ['inactive', 'pending', 'firing'];

function matches(r: Rule, text: string): boolean {
  if (!text) return true;
  const hay = [r.name, r.query, ...Object.entries(r.labels ?? {}).map(([k, v]) => `${k}="${v}"`), ...(r.alerts ?? []).flatMap((a) => Object.entries(a.labels).map(([k, v]) => `${k}="${v}"`))]
    .join(' ')
    .toLowerCase();
  return text
    .toLowerCase()
    .split(/\s+/)
    .every((w) => hay.includes(w));
}

/** ruleItem draws one rule, open when it has alerts unless the reader
 * folded or unfolded it (opened remembers that across refreshes). */
function ruleItem(r: Rule, group: string, opened: Map<string, boolean>): HTMLElement {
  const alerts = r.alerts ?? [];
  const key = `${group}\u0000${r.name}`;
  const el = h(
    'details',
    { className: `alert-rule ${r.state ?? ''}`, open: opened.get(key) ?? (r.state === 'firing' || r.state === 'pending') },
    h('summary', null, stateBadge(r.state ?? 'unknown'), ' ', h('strong', null, r.name), ' ', h('span', { className: 'muted' }, `(${formatCount(alerts.length)} active)`)),
    h('div', { className: 'rule-body' }, h('div', null, queryLink(r.query)), ruleDetails(r)),
    alerts.length
      ? table(
          ['Labels', 'State', 'Active since', 'Value', 'Annotations'],
          alerts.map((a) => [
            labelBadges(a.labels),
            stateBadge(a.state),
            a.activeAt ? ago(a.activeAt) : '',
            formatAlertValue(a.value),
            h('dl', null, Object.entries(a.annotations ?? {}).map(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
          ]),
          'alerts',
        )
      : null,
  );
  el.addEventListener('toggle', () => opened.set(key, el.open));
  return el;
}

async function load(): Promise<Group[]> {
  const { data } = await get<{ groups: Group[] }>('rules', { type: 'alert' });
  return (data.groups ?? []).filter((g) => g.rules.length > 0);
}

export async function render(root: HTMLElement): Promise<void> {
  let groups = await load();
  let all = groups.flatMap((g) => g.rules);
  const shown = new Set<string>(states);
  let text = '';
  const opened = new Map<string, boolean>();
  const body = h('div');
  const draw = () => {
    const sections = groups
      .map((g) => [g, g.rules.filter((r) => shown.has(r.state ?? '') && matches(r, text))] as const)
      .filter(([, rules]) => rules.length > 0)
      .map(([g, rules]) =>
        h('section', { className: 'pool' }, h('h2', null, g.name, ' ', h('span', { className: 'muted' }, g.file)), rules.map((r) => ruleItem(r, `${g.file}\u0000${g.name}`, opened))),
      );
    replace(body, all.length === 0 ? emptyState('No alerting rules. Add rule_files to the configuration.') : sections.length ? sections : emptyState('No alerting rules match the filters.'));
  };
  const count = (s: AlertState) => all.filter((r) => r.state === s).length;
  const counts = states.map((s) => h('span', null, `${s} (${count(s)})`));
  const updated = h('span', { className: 'muted updated' });
  const refresh = refreshSelect(() => {
    // A failed refresh keeps the last list and says so.
    load().then(
      (g) => {
        groups = g;
        all = groups.flatMap((gr) => gr.rules);
        states.forEach((s, i) => (counts[i].textContent = `${s} (${count(s)})`));
        updated.textContent = `updated ${formatTime(Date.now(), true)} UTC`;
        draw();
      },
      (err: unknown) => (updated.textContent = `refresh failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  });
  replace(
    root,
    h('h1', null, 'Alerts'),
    h(
      'div',
      { className: 'toolbar' },
      h('span', null, 'State:'),
      states.map((s) =>
        h(
          'label',
          { className: 'check' },
          h('input', {
            type: 'checkbox',
            name: s,
            checked: true,
            onchange: (e: Event) => {
              if ((e.target as HTMLInputElement).checked) shown.add(s);
              else shown.delete(s);
              draw();
            },
          }),
          counts[states.indexOf(s)],
        ),
      ),
      h('input', {
        type: 'search',
        className: 'filter',
        placeholder: 'Filter by name, expression or labels',
        'aria-label': 'Filter alerts',
        oninput: (e: Event) => {
          text = (e.target as HTMLInputElement).value.trim();
          draw();
        },
      }),
      refresh.el,
      updated,
    ),
    body,
  );
  draw();
}
