import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { exprTree, labelStats, type ExprNode } from './explain';

function shape(n: ExprNode): unknown {
  return n.children.length ? [n.head, ...n.children.map(shape)] : n.head;
}

describe('exprTree', () => {
  it.each([
    ['up', 'up'],
    ['sum by (job) (rate(http_requests_total[5m]))', ['sum by (job)', ['rate()', 'http_requests_total[5m]']]],
    ['a / on (x) b', ['/ on (x)', 'a', 'b']],
    ['-(a offset 1d)', ['-', ['( … )', ['offset 1d', 'a']]]],
    ['max_over_time(up[1h:5m])', ['max_over_time()', ['[1h:5m]', 'up']]],
  ])('%s', (src, want) => expect(shape(exprTree(parser.parse(src), src)!)).toEqual(want));

  it('keeps each node\'s source text', () => {
    const src = 'sum(rate(x[5m])) > 2';
    const t = exprTree(parser.parse(src), src)!;
    expect(t.children.map((c) => c.text)).toEqual(['sum(rate(x[5m]))', '2']);
  });

  it('is null for no expression', () => expect(exprTree(parser.parse(''), '')).toBeNull());
});

describe('labelStats', () => {
  it('counts distinct values per label', () => {
    const stats = labelStats({
      resultType: 'vector',
      result: [
        { metric: { job: 'a', instance: '1' }, value: [0, '1'] },
        { metric: { job: 'a', instance: '2' }, value: [0, '1'] },
      ],
    });
    expect(stats).toEqual([['instance', 2], ['job', 1]]);
  });
});
