// The settings menu at the nav's right end: theme and the editor's helpers,
// saved in localStorage and applied at once.

import { h } from './dom';
import { applyTheme, loadSettings, saveSettings, settingsEvent, type Settings, type Theme } from './settings';

/** dropdown makes a nav button that opens a menu below it; a click
 * elsewhere or Escape closes it. */
export function dropdown(label: Node | string, title: string, menu: HTMLElement, onOpen?: () => void): HTMLElement {
  menu.classList.add('menu');
  menu.hidden = true;
  const button = h('button', { type: 'button', title, 'aria-label': title, 'aria-haspopup': 'true', 'aria-expanded': 'false' }, label);
  const wrap = h('span', null, button, menu);
  const show = (open: boolean) => {
    menu.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    if (open) onOpen?.();
  };
  button.addEventListener('click', () => show(menu.hidden));
  document.addEventListener('click', (e) => {
    if (!menu.hidden && !wrap.contains(e.target as Node)) show(false);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !menu.hidden) show(false);
  });
  return wrap;
}

export function settingsMenu(): HTMLElement {
  const s = loadSettings();
  const changed = () => {
    saveSettings(s);
    applyTheme(s.theme);
    window.dispatchEvent(new Event(settingsEvent));
  };
  const themes: [Theme, string][] = [
    ['auto', 'Follow the system'],
    ['light', 'Light'],
    ['dark', 'Dark'],
  ];
  const check = (key: Exclude<keyof Settings, 'theme'>, label: string) =>
    h(
      'label',
      { className: 'check' },
      h('input', {
        type: 'checkbox',
        name: key,
        checked: s[key],
        onchange: (e: Event) => {
          s[key] = (e.target as HTMLInputElement).checked;
          changed();
        },
      }),
      label,
    );
  const menu = h(
    'div',
    { role: 'dialog', 'aria-label': 'Settings' },
    h(
      'fieldset',
      null,
      h('legend', null, 'Theme'),
      themes.map(([value, label]) =>
        h(
          'label',
          { className: 'check' },
          h('input', {
            type: 'radio',
            name: 'theme',
            value,
            checked: s.theme === value,
            onchange: () => {
              s.theme = value;
              changed();
            },
          }),
          label,
        ),
      ),
    ),
    h(
      'fieldset',
      null,
      h('legend', null, 'Query editor'),
      check('autocomplete', 'Autocomplete'),
      check('highlighting', 'Syntax highlighting'),
      check('linter', 'Linter'),
    ),
    h('fieldset', null, h('legend', null, 'Results'), check('warnings', 'Query warnings and notes')),
  );
  return dropdown('⚙', 'Settings', menu);
}
