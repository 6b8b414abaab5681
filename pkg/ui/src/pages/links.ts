import { h } from '../dom';
import { encodePanels, newPanel } from '../urlstate';

/** queryLink links an expression to the Query page, as a table. */
export function queryLink(expr: string): HTMLAnchorElement {
  return h('a', { href: `./query?${encodePanels([newPanel(expr)])}` }, h('code', null, expr));
}
