// The Query page: several panels whose state lives in the URL.

import { h, replace } from '../dom';
import { decodePanels, encodePanels, newPanel } from '../urlstate';
import { Panel } from './panel';

const utcKey = 'miniprom.utc';

export function render(root: HTMLElement): void {
  // A browser setting rather than page state, like Prometheus's "use local time".
  let utc = localStorage.getItem(utcKey) !== 'false';
  const panels: Panel[] = [];
  const list = h('div', { className: 'panels' });

  // The canonical path is ./query even when the page was opened as ./graph.
  const syncURL = () => history.replaceState(null, '', `./query?${encodePanels(panels.map((p) => p.state))}`);
  const ctx = {
    changed: syncURL,
    remove: (p: Panel) => {
      panels.splice(panels.indexOf(p), 1);
      syncURL();
    },
    utc: () => utc,
  };
  const add = (state = newPanel()) => {
    const p = new Panel(state, ctx);
    panels.push(p);
    list.append(p.el);
    return p;
  };

  const states = decodePanels(location.search);
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
            panels.forEach((p) => p.timeZoneChanged());
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
          syncURL();
        },
      },
      'Add panel',
    ),
  );
  if (states.length === 0) add().focus();
  for (const s of states) add(s).execute();
  syncURL();
}
