// Adding a label matcher to every vector selector of an expression, for the
// legend's "click a label to narrow the query". The expression's syntax tree
// comes from the editor's PromQL parser, so nested and binary expressions
// are handled and strings that merely look like selectors are left alone.

import type { SyntaxNode, Tree } from '@lezer/common';

/** addMatcher returns expr with name="value" added to each vector selector
 * that does not already have that exact matcher. */
export function addMatcher(expr: string, tree: Tree, name: string, value: string): string {
  const matcher = `${name}=${JSON.stringify(value)}`;
  const edits: { at: number; text: string }[] = [];
  tree.iterate({
    enter: (ref) => {
      if (ref.name !== 'VectorSelector') return;
      const node: SyntaxNode = ref.node;
      const matchers = node.getChild('LabelMatchers');
      if (!matchers) {
        edits.push({ at: node.to, text: `{${matcher}}` });
        return false;
      }
      const inner = expr.slice(matchers.from + 1, matchers.to - 1);
      if (inner.split(',').some((m) => m.replace(/\s/g, '') === matcher)) return false;
      const body = inner.trimEnd();
      const sep = body === '' || body.endsWith(',') ? '' : ', ';
      edits.push({ at: matchers.from + 1 + body.length, text: sep + matcher });
      return false;
    },
  });
  let out = expr;
  for (const e of edits.sort((a, b) => b.at - a.at)) out = out.slice(0, e.at) + e.text + out.slice(e.at);
  return out;
}
