import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { addMatcher } from './matcher';

const add = (expr: string) => addMatcher(expr, parser.parse(expr), 'job', 'node');

describe('addMatcher', () => {
  it.each([
    ['up', 'up{job="node"}'],
    ['up{}', 'up{job="node"}'],
    ['up{instance="a"}', 'up{instance="a", job="node"}'],
    ['up{instance="a",}', 'up{instance="a",job="node"}'],
    ['up{job="node"}', 'up{job="node"}'],
    ['{__name__="up"}', '{__name__="up", job="node"}'],
    ['rate(http_requests_total[5m])', 'rate(http_requests_total{job="node"}[5m])'],
    ['sum by (job) (rate(a[5m])) / sum(b offset 1d)', 'sum by (job) (rate(a{job="node"}[5m])) / sum(b{job="node"} offset 1d)'],
    ['label_replace(up, "x", "up", "", "")', 'label_replace(up{job="node"}, "x", "up", "", "")'],
    ['vector(1)', 'vector(1)'],
  ])('%s', (expr, want) => expect(add(expr)).toBe(want));

  it('quotes values', () => {
    expect(addMatcher('up', parser.parse('up'), 'path', 'a"b\\c')).toBe('up{path="a\\"b\\\\c"}');
  });
});
