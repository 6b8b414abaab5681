// Service discovery: every target discovery found, per scrape pool, with its
// labels before and after relabelling; a dropped target can show the
// relabelling steps that dropped it (/api/v1/targets/relabel_steps).

import { get } from '../api';
import { emptyState, errorBox, h, replace, table } from '../dom';
import { formatCount } from '../format';
import { labelBadges, type Labels } from '../labels';

interface ActiveTarget {
  discoveredLabels: Labels;
  labels: Labels;
  scrapePool: string;
}

interface DroppedTarget {
  discoveredLabels: Labels;
  scrapePool: string;
}

interface Discovery {
  activeTargets: ActiveTarget[];
  droppedTargets: DroppedTarget[];
  droppedTargetCounts?: Record<string, number>;
}

interface RelabelRule {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  modulus?: number;
  target_label?: string;
  replacement?: string;
  action?: string;
}

interface RelabelStep {
  rule: RelabelRule;
  output: Labels;
  keep: boolean;
}

function ruleText(r: RelabelRule): HTMLElement {
  const fields: [string, unknown][] = [
    ['action', r.action],
    ['source_labels', r.source_labels?.length ? `[${r.source_labels.join(', ')}]` : undefined],
    ['separator', r.separator !== ';' ? r.separator : undefined],
    ['regex', r.regex !== '(.*)' ? r.regex : undefined],
    ['modulus', r.modulus || undefined],
    ['target_label', r.target_label],
    ['replacement', r.replacement !== '$1' ? r.replacement : undefined],
  ];
  return h(
    'pre',
    { className: 'rule' },
    fields
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => `${k}: ${String(v)}`)
      .join('\n'),
  );
}

/** steps shows each relabelling rule and the labels after it, up to the
 * rule that dropped the target. */
async function showSteps(box: HTMLElement, pool: string, labels: Labels): Promise<void> {
  replace(box, h('p', { className: 'muted' }, 'Loading relabelling steps…'));
  try {
    const { data } = await get<{ steps: RelabelStep[] }>('targets/relabel_steps', { scrapePool: pool, labels: JSON.stringify(labels) });
    const steps = data.steps ?? [];
    const last = steps.findIndex((s) => !s.keep);
    const shown = last === -1 ? steps : steps.slice(0, last + 1);
    replace(
      box,
      steps.length === 0
        ? emptyState('This scrape pool has no relabelling rules.')
        : table(
            ['Step', 'Rule', 'Labels after the rule'],
            shown.map((s, i) => [
              String(i + 1),
              ruleText(s.rule),
              s.keep ? labelBadges(s.output ?? {}) : h('strong', { className: 'error-text' }, 'Dropped'),
            ]),
            'relabel-steps',
          ),
    );
  } catch (err) {
    replace(box, errorBox(err));
  }
}

function stepsButton(pool: string, labels: Labels): HTMLElement {
  const box = h('div', { className: 'steps' });
  const button = h(
    'button',
    {
      type: 'button',
      onclick: () => {
        button.hidden = true;
        void showSteps(box, pool, labels);
      },
    },
    'Show relabelling steps',
  );
  return h('div', null, button, box);
}

function poolSection(name: string, active: ActiveTarget[], dropped: DroppedTarget[], droppedCount: number): HTMLElement {
  const rows = [
    ...active.map((t) => [labelBadges(t.discoveredLabels), labelBadges(t.labels)]),
    ...dropped.map((t) => [
      labelBadges(t.discoveredLabels),
      h('div', null, h('span', { className: 'health down' }, 'DROPPED'), stepsButton(name, t.discoveredLabels)),
    ]),
  ];
  const more = droppedCount - dropped.length;
  return h(
    'section',
    { className: 'pool' },
    h('h2', null, name, ' ', h('span', { className: 'muted' }, `(${formatCount(active.length)} active / ${formatCount(droppedCount)} dropped)`)),
    table(['Discovered labels', 'Target labels'], rows, 'sd'),
    more > 0 ? h('p', { className: 'muted' }, `${formatCount(more)} more dropped targets are not kept (keep_dropped_targets).`) : null,
  );
}

export async function render(root: HTMLElement): Promise<void> {
  const { data } = await get<Discovery>('targets', { state: 'any' });
  const active = data.activeTargets ?? [];
  const dropped = data.droppedTargets ?? [];
  const counts = data.droppedTargetCounts ?? {};
  const names = [...new Set([...active.map((t) => t.scrapePool), ...dropped.map((t) => t.scrapePool), ...Object.keys(counts)])].sort();
  let text = '';
  const body = h('div');
  const draw = () => {
    const f = text.toLowerCase();
    const match = (l: Labels) => !f || Object.entries(l).some(([k, v]) => `${k}="${v}"`.toLowerCase().includes(f));
    const sections = names
      .map((n) => {
        const a = active.filter((t) => t.scrapePool === n && (match(t.discoveredLabels) || match(t.labels)));
        const d = dropped.filter((t) => t.scrapePool === n && match(t.discoveredLabels));
        return a.length || d.length || !f ? poolSection(n, a, d, counts[n] ?? d.length) : null;
      })
      .filter((s) => s !== null);
    replace(body, names.length === 0 ? emptyState('No scrape pools. Add scrape_configs to the configuration.') : sections.length ? sections : emptyState('No targets match.'));
  };
  replace(
    root,
    h('h1', null, 'Service discovery'),
    h(
      'div',
      { className: 'toolbar' },
      h('input', {
        type: 'search',
        className: 'filter',
        placeholder: 'Filter by label',
        'aria-label': 'Filter discovered targets',
        oninput: (e: Event) => {
          text = (e.target as HTMLInputElement).value.trim();
          draw();
        },
      }),
    ),
    body,
  );
  draw();
}
