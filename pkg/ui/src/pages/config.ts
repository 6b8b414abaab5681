// Config: the loaded configuration as YAML, redacted by the server, highlighted.

import { get } from '../api';
import { h, replace } from '../dom';
import { highlightYAML } from './yaml';

export async function render(root: HTMLElement): Promise<void> {
  const { data } = await get<{ yaml: string }>('status/config');
  const pre = h('pre', { className: 'config' }, h('code', null, highlightYAML(data.yaml)));
  const copy = h('button', {
    type: 'button',
    onclick: async () => {
      await navigator.clipboard.writeText(data.yaml);
      copy.textContent = 'Copied';
    },
  }, 'Copy to clipboard');
  replace(root, h('div', { className: 'title-row' }, h('h1', null, 'Configuration'), copy), pre);
}
