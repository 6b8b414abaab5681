// Entry point: draws the navigation and loads the current page's module.
// Each page is its own chunk, so the Query page's editor never weighs on the
// other pages and the other pages never weigh on the Query page.

import './style.css';
import { errorBox, h, replace } from './dom';
import { settingsMenu } from './menu';
import { notificationsMenu } from './notifications';
import { applyTheme, loadSettings, watchSystemTheme } from './settings';

type PageModule = { render(root: HTMLElement): void | Promise<void> };

interface Page {
  path: string;
  title: string;
  load: () => Promise<PageModule>;
}

const pages: Page[] = [
  { path: 'query', title: 'Query', load: () => import('./query/page') },
  { path: 'alerts', title: 'Alerts', load: () => import('./pages/alerts') },
  { path: 'rules', title: 'Rules', load: () => import('./pages/rules') },
  { path: 'targets', title: 'Targets', load: () => import('./pages/targets') },
  { path: 'service-discovery', title: 'Service discovery', load: () => import('./pages/sd') },
  { path: 'alertmanager-discovery', title: 'Alertmanagers', load: () => import('./pages/alertmanagers') },
  { path: 'status', title: 'Status', load: () => import('./pages/status') },
  { path: 'flags', title: 'Flags', load: () => import('./pages/flags') },
  { path: 'config', title: 'Config', load: () => import('./pages/config') },
  { path: 'tsdb-status', title: 'TSDB', load: () => import('./pages/tsdb') },
];

/** current picks the page from the last path segment; /graph is the
 * classic UI's name for the Query page. */
function current(): Page | undefined {
  const last = location.pathname.split('/').pop() ?? '';
  return pages.find((p) => p.path === (last === 'graph' ? 'query' : last));
}

async function start(): Promise<void> {
  applyTheme(loadSettings().theme);
  watchSystemTheme();
  const page = current();
  const nav = document.getElementById('nav')!;
  const main = document.getElementById('main')!;
  // Links are relative: every page sits directly below the route prefix.
  replace(
    nav,
    h('a', { className: 'brand', href: './query' }, 'miniprom'),
    pages.map((p) =>
      h('a', { href: `./${p.path}`, className: p === page ? 'active' : '', 'aria-current': p === page ? 'page' : null }, p.title),
    ),
    h('span', { className: 'nav-end' }, notificationsMenu(), settingsMenu()),
  );
  if (!page) {
    replace(main, h('h1', null, 'Not found'));
    return;
  }
  // --web.page-title, when the server was given one, titles every page as
  // in Prometheus; the server leaves the meta tag empty otherwise.
  const pageTitle = document.querySelector<HTMLMetaElement>('meta[name="page-title"]')?.content;
  document.title = pageTitle || `${page.title} · miniprom`;
  try {
    await (await page.load()).render(main);
  } catch (err) {
    main.append(errorBox(err));
  }
}

void start();
