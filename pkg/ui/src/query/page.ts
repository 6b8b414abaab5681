// The Query page: several panels whose state lives in the URL. Each executed
// query adds a browser history entry, so Back returns to the previous query;
// edits that run nothing (adding or removing a panel) replace the entry.

import { h, replace } from '../dom';
import { settingsEvent } from '../settings';
import { decodePanels, encodePanels, newPanel } from '../urlstate';
import { Panel } from './panel';

const utcKey = 'miniprom.utc';

export function render(root: HTMLElement): void {
  // A browser setting rather than page state, like Prometheus's "use local time".
  let utc = localStorage.getItem(utcKey) !== 'false';
  const panels: Panel[] = [];
  const list = h('div', { className: 'panels' });
  // True while the page itself is building panels (on load and on Back),
  // when their queries must not add history entries.
  let restoring = true;
  let pushPending = false;

  // The canonical path is ./query even when the page was opened as ./graph.
  const target = () => `./query?${encodePanels(panels.map((p) => p.state))}`;
  const replaceURL = () => {
    if (!restoring) history.replaceState(null, '', target());
  };
  // Panels executed together (a time zone change, say) make one entry.
  const pushURL = () => {
    if (restoring || pushPending) return;
    pushPending = true;
    queueMicrotask(() => {
      pushPending = false;
      const next = target();
      if (new URL(next, location.href).search === location.search) return;
      history.pushState(null, '', next);
    });
  };
  const ctx = {
    changed: replaceURL,
    executed: pushURL,
    remove: (p: Panel) => {
      panels.splice(panels.indexOf(p), 1);
      replaceURL();
    },
    utc: () => utc,
  };
  const add = (state = newPanel()) => {
    const p = new Panel(state, ctx);
    panels.push(p);
    list.append(p.el);
    return p;
  };
  /** load builds the panels the URL describes and runs their queries. */
  const load = () => {
    restoring = true;
    for (const p of [...panels]) p.destroy();
    const states = decodePanels(location.search);
    if (states.length === 0) add().focus();
    for (const s of states) add(s).execute();
    restoring = false;
    history.replaceState(null, '', target());
  };

  replace(
    root,
    h(
      'div',
      { className: 'title-row' },
      h('h1', null, 'Query'),
      h(
        'label',
        { className: 'check' },
        h('input', {
          type: 'checkbox',
          name: 'utc',
          checked: utc,
          onchange: (e: Event) => {
            utc = (e.target as HTMLInputElement).checked;
            localStorage.setItem(utcKey, String(utc));
            panels.forEach((p) => p.redraw());
          },
        }),
        'UTC (uncheck for local time)',
      ),
    ),
    list,
    h(
      'button',
      {
        type: 'button',
        className: 'add-panel',
        onclick: () => {
          add().focus();
          replaceURL();
        },
      },
      'Add panel',
    ),
  );
  window.addEventListener('popstate', load);
  // Canvases do not follow the stylesheet; a new theme needs a new drawing.
  window.addEventListener(settingsEvent, () => panels.forEach((p) => p.redraw()));
  load();
}
