// Targets: every scrape pool and its targets, filterable by pool, health and
// text. Pools fold; a folded pool builds no rows, so setups with hundreds of
// targets stay quick to filter.

import { get } from '../api';
import { emptyState, h, replace, table } from '../dom';
import { ago, humanizeDuration } from '../format';
import { labelBadges, type Labels } from '../labels';

interface Target {
  discoveredLabels: Labels;
  labels: Labels;
  scrapePool: string;
  scrapeUrl: string;
  globalUrl: string;
  lastError: string;
  lastScrape: string;
  lastScrapeDuration: number;
  health: 'up' | 'down' | 'unknown';
  scrapeInterval?: string;
  scrapeTimeout?: string;
}

const healths = ['up', 'down', 'unknown'] as const;

function matches(t: Target, text: string): boolean {
  if (!text) return true;
  const hay = [t.scrapeUrl, t.lastError, ...Object.entries(t.labels).map(([k, v]) => `${k}="${v}"`)].join(' ').toLowerCase();
  return text
    .toLowerCase()
    .split(/\s+/)
    .every((word) => hay.includes(word));
}

/** discovered folds a target's labels before relabelling; they are drawn
 * on first unfolding, as most readers of a 500-target page never open them. */
function discovered(t: Target): HTMLElement {
  const el = h('details', { className: 'discovered' }, h('summary', { className: 'muted' }, 'Discovered labels'));
  el.addEventListener('toggle', () => {
    if (el.open && el.childElementCount === 1) el.append(labelBadges(t.discoveredLabels ?? {}));
  });
  return el;
}

function rows(shown: Target[]): HTMLTableElement {
  return table(
    ['Endpoint', 'State', 'Labels', 'Last scrape', 'Scrape duration', 'Interval / timeout', 'Error'],
    shown.map((t) => [
      h('a', { href: t.scrapeUrl, rel: 'noreferrer' }, t.scrapeUrl),
      h('span', { className: `health ${t.health}` }, t.health.toUpperCase()),
      h('div', null, labelBadges(t.labels), discovered(t)),
      ago(t.lastScrape),
      humanizeDuration(t.lastScrapeDuration * 1000),
      `${t.scrapeInterval ?? ''} / ${t.scrapeTimeout ?? ''}`,
      t.lastError ? h('span', { className: 'error-text' }, t.lastError) : '',
    ]),
    'targets',
  );
}

function pool(name: string, all: Target[], shown: Target[], folded: Set<string>): HTMLElement {
  const up = all.filter((t) => t.health === 'up').length;
  const el = h(
    'details',
    { className: 'pool', open: !folded.has(name) },
    h('summary', null, h('h2', null, name, ' ', h('span', { className: up === all.length ? 'count ok' : 'count bad' }, `(${up}/${all.length} up)`))),
  );
  const fill = () => {
    if (el.open && !el.querySelector('table')) el.append(rows(shown));
  };
  fill();
  el.addEventListener('toggle', () => {
    if (el.open) folded.delete(name);
    else folded.add(name);
    fill();
  });
  return el;
}

export async function render(root: HTMLElement): Promise<void> {
  const { data } = await get<{ activeTargets: Target[] }>('targets', { state: 'active' });
  const targets = data.activeTargets ?? [];
  const byPool = new Map<string, Target[]>();
  for (const t of targets) byPool.set(t.scrapePool, [...(byPool.get(t.scrapePool) ?? []), t]);
  const pools = [...byPool.entries()].sort(([a], [b]) => a.localeCompare(b));

  const shownHealth = new Set<string>(healths);
  const folded = new Set<string>();
  let text = '';
  let picked = '';
  const body = h('div');
  const draw = () => {
    const sections = pools
      .filter(([name]) => !picked || name === picked)
      .map(([name, all]) => [name, all, all.filter((t) => shownHealth.has(t.health) && matches(t, text))] as const)
      .filter(([, , shown]) => shown.length > 0)
      .map(([name, all, shown]) => pool(name, all, shown, folded));
    replace(
      body,
      targets.length === 0 ? emptyState('No targets. Add scrape_configs to the configuration.') : sections.length ? sections : emptyState('No targets match the filters.'),
    );
  };

  const healthBoxes = healths.map((hl) =>
    h(
      'label',
      { className: 'check' },
      h('input', {
        type: 'checkbox',
        checked: true,
        name: hl,
        onchange: (e: Event) => {
          if ((e.target as HTMLInputElement).checked) shownHealth.add(hl);
          else shownHealth.delete(hl);
          draw();
        },
      }),
      hl,
    ),
  );
  replace(
    root,
    h('h1', null, 'Targets'),
    h(
      'div',
      { className: 'toolbar' },
      h(
        'select',
        {
          'aria-label': 'Scrape pool',
          onchange: (e: Event) => {
            picked = (e.target as HTMLSelectElement).value;
            draw();
          },
        },
        h('option', { value: '' }, `All pools (${pools.length})`),
        pools.map(([name]) => h('option', { value: name }, name)),
      ),
      h(
        'button',
        {
          type: 'button',
          onclick: () => {
            const allFolded = pools.every(([n]) => folded.has(n));
            for (const [n] of pools) {
              if (allFolded) folded.delete(n);
              else folded.add(n);
            }
            draw();
          },
        },
        'Fold / unfold all',
      ),
      h('span', null, 'Health:'),
      healthBoxes,
      h('input', {
        type: 'search',
        className: 'filter',
        placeholder: 'Filter by endpoint, labels or error',
        'aria-label': 'Filter targets',
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
