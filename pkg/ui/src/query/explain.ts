// The Explain tab: the expression as a tree of its sub-expressions, each run
// as an instant query at the panel's evaluation time, with its result's
// series count and, per label, how many distinct values it has. The tree
// comes from the editor's PromQL parser, so each node's text is exactly the
// source it covers. Loaded on demand.

import type { SyntaxNode, Tree } from '@lezer/common';
import { get } from '../api';
import { h } from '../dom';
import { formatCount, humanizeDuration } from '../format';
import type { QueryData } from './types';

/** The lezer node names that are PromQL expressions. */
const exprNodes = new Set([
  'AggregateExpr',
  'BinaryExpr',
  'FunctionCall',
  'MatrixSelector',
  'NumberDurationLiteral',
  'OffsetExpr',
  'AnchoredExpr',
  'SmoothedExpr',
  'ParenExpr',
  'StringLiteral',
  'SubqueryExpr',
  'UnaryExpr',
  'VectorSelector',
  'StepInvariantExpr',
]);

/** Sub-expressions past this many are not run, to bound the queries one click sends. */
const maxNodes = 40;

export interface ExprNode {
  kind: string;
  /** What this node adds, e.g. "sum by (job)" or "/ on (job)". */
  head: string;
  text: string;
  children: ExprNode[];
}

function exprChildren(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) {
    if (exprNodes.has(c.name)) out.push(c);
    else out.push(...exprChildren(c));
  }
  return out;
}

function head(node: SyntaxNode, kids: SyntaxNode[], src: string): string {
  const text = src.slice(node.from, node.to);
  switch (node.name) {
    case 'AggregateExpr': {
      const body = node.getChild('FunctionCallBody');
      const mod = node.getChild('AggregateModifier');
      const op = node.getChild('AggregateOp');
      return [op && src.slice(op.from, op.to), mod && src.slice(mod.from, mod.to)].filter(Boolean).join(' ') || (body ? src.slice(node.from, body.from).trim() : text);
    }
    case 'FunctionCall': {
      const id = node.getChild('FunctionIdentifier');
      return id ? `${src.slice(id.from, id.to)}()` : text;
    }
    case 'BinaryExpr':
      return kids.length === 2 ? src.slice(kids[0].to, kids[1].from).trim() : text;
    case 'ParenExpr':
      return '( … )';
    case 'SubqueryExpr':
    case 'OffsetExpr':
    case 'StepInvariantExpr':
    case 'AnchoredExpr':
    case 'SmoothedExpr':
      return kids.length ? src.slice(kids[0].to, node.to).trim() : text;
    case 'UnaryExpr':
      return kids.length ? src.slice(node.from, kids[0].from).trim() : text;
    default:
      return text;
  }
}

/** exprTree turns the parse tree into the expression tree; null when the
 * source holds no expression. */
export function exprTree(tree: Tree, src: string): ExprNode | null {
  const build = (n: SyntaxNode): ExprNode => {
    const kids = exprChildren(n);
    // A range selector is one node in PromQL, though the grammar nests a vector selector in it.
    const children = n.name === 'MatrixSelector' ? [] : kids.map(build);
    return { kind: n.name, head: head(n, kids, src), text: src.slice(n.from, n.to), children };
  };
  const top = exprChildren(tree.topNode);
  return top.length ? build(top[0]) : null;
}

/** labelStats counts each label's distinct values in a result. */
export function labelStats(d: QueryData): [string, number][] {
  if (d.resultType !== 'vector' && d.resultType !== 'matrix') return [];
  const values = new Map<string, Set<string>>();
  for (const s of d.result) {
    for (const [k, v] of Object.entries(s.metric)) {
      if (!values.has(k)) values.set(k, new Set());
      values.get(k)!.add(v);
    }
  }
  return [...values.entries()].map(([k, set]): [string, number] => [k, set.size]).sort((a, b) => a[0].localeCompare(b[0]));
}

function summary(d: QueryData): string {
  switch (d.resultType) {
    case 'scalar':
    case 'string':
      return `${d.resultType} ${d.result[1]}`;
    case 'vector':
      return `${formatCount(d.result.length)} series`;
    case 'matrix':
      return `${formatCount(d.result.length)} series (range vector)`;
  }
}

/** renderExplain draws the tree and runs each node's query. */
export function renderExplain(root: ExprNode, time: number | null, signal: AbortSignal): HTMLElement {
  let count = 0;
  const item = (n: ExprNode): HTMLElement => {
    const result = h('span', { className: 'node-result muted' });
    const stats = h('div', { className: 'node-stats' });
    const li = h(
      'li',
      { className: 'node', 'data-kind': n.kind },
      h('div', { className: 'node-head' }, h('code', null, n.head), ' ', result),
      stats,
      n.children.length ? h('ul', null, n.children.map(item)) : null,
    );
    if (++count > maxNodes) {
      result.textContent = 'not run (too many sub-expressions)';
      return li;
    }
    result.textContent = 'running…';
    const params: Record<string, string> = { query: n.text, stats: 'all' };
    if (time !== null) params.time = String(time / 1000);
    const t0 = performance.now();
    get<QueryData>('query', params, signal).then(
      ({ data }) => {
        result.textContent = `${summary(data)} · ${humanizeDuration(performance.now() - t0)}`;
        li.dataset.series = data.resultType === 'vector' || data.resultType === 'matrix' ? String(data.result.length) : '';
        const ls = labelStats(data);
        stats.replaceChildren(...ls.map(([k, c]) => h('span', { className: 'badge' }, `${k}: ${formatCount(c)} value${c === 1 ? '' : 's'}`)));
      },
      (err: unknown) => {
        if (signal.aborted) return;
        result.textContent = err instanceof Error ? err.message : String(err);
        result.className = 'node-result error-text';
      },
    );
    return li;
  };
  return h('ul', { className: 'explain-tree' }, item(root));
}
