// Rules: recording and alerting rule groups with their health.

import { get } from '../api';
import { emptyState, h, replace, table } from '../dom';
import { ago, humanizeDuration } from '../format';
import { labelBadges, type Labels } from '../labels';
import { queryLink } from './links';

interface Rule {
  name: string;
  query: string;
  type: 'recording' | 'alerting';
  health: 'ok' | 'err' | 'unknown';
  lastError?: string;
  lastEvaluation: string;
  evaluationTime: number;
  labels?: Labels;
  duration?: number;
  state?: string;
}

interface Group {
  name: string;
  file: string;
  interval: number;
  rules: Rule[];
  lastEvaluation: string;
  evaluationTime: number;
}

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
                  h('div', null, queryLink(r.query)),
                  r.labels && Object.keys(r.labels).length ? labelBadges(r.labels) : null,
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
