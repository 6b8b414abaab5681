// Alerts: active alerts, grouped by alert name.

import { get } from '../api';
import { emptyState, h, replace, table } from '../dom';
import { ago } from '../format';
import { labelBadges, type Labels } from '../labels';

interface Alert {
  labels: Labels;
  annotations: Labels;
  state: 'pending' | 'firing' | 'inactive';
  activeAt?: string;
  value: string;
}

export async function render(root: HTMLElement): Promise<void> {
  const { data } = await get<{ alerts: Alert[] }>('alerts');
  const alerts = data.alerts ?? [];
  const byName = new Map<string, Alert[]>();
  for (const a of alerts) {
    const name = a.labels.alertname ?? '';
    byName.set(name, [...(byName.get(name) ?? []), a]);
  }
  replace(
    root,
    h('h1', null, 'Alerts'),
    alerts.length === 0
      ? emptyState('No active alerts.')
      : [...byName.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, list]) =>
            h(
              'section',
              { className: 'pool' },
              h('h2', null, name, ' ', h('span', { className: 'muted' }, `(${list.length} active)`)),
              table(
                ['Labels', 'State', 'Active since', 'Value', 'Annotations'],
                list.map((a) => [
                  labelBadges(a.labels),
                  h('span', { className: `health ${a.state === 'firing' ? 'down' : 'unknown'}` }, a.state.toUpperCase()),
                  a.activeAt ? ago(a.activeAt) : '',
                  a.value,
                  h('dl', null, Object.entries(a.annotations ?? {}).map(([k, v]) => [h('dt', null, k), h('dd', null, v)])),
                ]),
              ),
            ),
          ),
  );
}
