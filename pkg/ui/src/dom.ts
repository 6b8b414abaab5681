// A tiny hyperscript helper: enough structure for readable page code
// without pulling a framework into the bundle.

export type Child = Node | string | number | null | undefined | false | Child[];
export type Props = Record<string, unknown>;

/** h creates an element; "on*" props become listeners, other known DOM
 * properties are assigned, and the rest become attributes. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: Props | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value as EventListener);
    } else if (key in el && !key.includes('-')) {
      (el as unknown as Record<string, unknown>)[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** replace swaps an element's content for new children. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** table builds a plain table from header cells and rows of cells. Each
 * cell carries its column's name, which narrow screens show above it when
 * the table turns into cards (all but key/value and query result tables). */
export function table(head: Child[], rows: Child[][], className = ''): HTMLTableElement {
  const labels = head.map((c) => (typeof c === 'string' ? c : null));
  const cards = /\b(kv|result)\b/.test(className) ? '' : ' cards';
  return h(
    'table',
    { className: className + cards },
    h('thead', null, h('tr', null, head.map((c) => h('th', null, c)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c, i) => h('td', { 'data-label': labels[i] }, c))))),
  );
}

/** emptyState is what a page shows when the API has nothing to list. */
export function emptyState(text: string): HTMLElement {
  return h('p', { className: 'empty' }, text);
}

/** errorBox shows an error the way the API or the network reported it. */
export function errorBox(err: unknown): HTMLElement {
  return h('div', { className: 'alert error', role: 'alert' }, err instanceof Error ? err.message : String(err));
}
