// Alertmanager discovery: the Alertmanagers that alerts are sent to, and
// those that relabelling dropped.

import { get } from '../api';
import { emptyState, h, replace, table } from '../dom';

interface Discovery {
  activeAlertmanagers: { url: string }[];
  droppedAlertmanagers: { url: string }[];
}

function list(title: string, ams: { url: string }[], empty: string): HTMLElement[] {
  return [h('h2', null, title, ' ', h('span', { className: 'muted' }, `(${ams.length})`)), ams.length ? table(['Endpoint'], ams.map((a) => [a.url]), 'alertmanagers') : emptyState(empty)];
}

export async function render(root: HTMLElement): Promise<void> {
  const { data } = await get<Discovery>('alertmanagers');
  replace(
    root,
    h('h1', null, 'Alertmanager discovery'),
    list('Active Alertmanagers', data.activeAlertmanagers ?? [], 'No Alertmanagers: alerts are evaluated but not sent. Configure alerting.alertmanagers.'),
    list('Dropped Alertmanagers', data.droppedAlertmanagers ?? [], 'None dropped.'),
  );
}
