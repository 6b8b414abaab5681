// Rules: recording and alerting rule groups with their health; alerting
// rules show for, keep_firing_for, labels and annotations.

import { get } from '../api';
import { emptyState, h, replace, table } from '../dom';
import { ago, humanizeDuration } from '../format';
import { ruleDetails, stateBadge, type Group } from './alerting';
import { queryLink } from './links';

export async function render(root: HTMLElement): Promise<void> {
  const { data } = await get<{ groups: Group[] }>('rules');
  const groups = data.groups ?? [];
  replace(
    root,
    h('h1', null, 'Rules'),
    groups.length === 0
      ? emptyState('No rule groups are configured.')
      : groups.map((g) =>
          h(
            'section',
            { className: 'pool' },
            h('h2', null, g.name, ' ', h('span', { className: 'muted' }, `${g.file} · every ${humanizeDuration(g.interval * 1000)} · last ${ago(g.lastEvaluation)}`)),
            table(
              ['Rule', 'Health', 'Last evaluation', 'Evaluation time', 'Error'],
              g.rules.map((r) => [
                h(
                  'div',
                  null,
                  h('strong', null, r.type === 'alerting' ? 'alert: ' : 'record: ', r.name),
                  r.state ? [' ', stateBadge(r.state)] : null,
                  h('div', null, queryLink(r.query)),
                  ruleDetails(r),
                ),
                h('span', { className: `health ${r.health === 'ok' ? 'up' : r.health === 'err' ? 'down' : 'unknown'}` }, r.health.toUpperCase()),
                ago(r.lastEvaluation),
                humanizeDuration(r.evaluationTime * 1000),
                r.lastError ? h('span', { className: 'error-text' }, r.lastError) : '',
              ]),
            ),
          ),
        ),
  );
}
