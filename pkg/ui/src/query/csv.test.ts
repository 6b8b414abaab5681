import { describe, expect, it } from 'vitest';
import { sortRows, toCSV } from './csv';
import type { InstantSample, QueryData } from './types';

const vec: InstantSample[] = [
  { metric: { __name__: 'up', job: 'b', instance: 'h:10' }, value: [100, '1'] },
  { metric: { __name__: 'up', job: 'a', instance: 'h:9' }, value: [100, '0'] },
  { metric: { __name__: 'up', job: 'c' }, value: [100, 'NaN'] },
  { metric: { __name__: 'up', job: 'd', instance: 'h:2' }, value: [100, '5'] },
];

describe('sortRows', () => {
  const jobs = (rows: InstantSample[]) => rows.map((r) => r.metric.job);
  it.each([
    ['none', { by: 'none' } as const, ['b', 'a', 'c', 'd']],
    ['value ascending, NaN first', { by: 'value', desc: false } as const, ['c', 'a', 'b', 'd']],
    ['value descending', { by: 'value', desc: true } as const, ['d', 'b', 'a', 'c']],
    ['label, numeric-aware, missing last', { by: 'label', name: 'instance', desc: false } as const, ['d', 'a', 'b', 'c']],
    ['label descending', { by: 'label', name: 'job', desc: true } as const, ['d', 'c', 'b', 'a']],
  ])('%s', (_n, key, want) => expect(jobs(sortRows(vec, key))).toEqual(want));

  it('sorts +Inf above and -Inf below every finite value', () => {
    const inf: InstantSample[] = [
      { metric: { job: 'big' }, value: [100, '+Inf'] },
      { metric: { job: 'one' }, value: [100, '1'] },
      { metric: { job: 'small' }, value: [100, '-Inf'] },
    ];
    expect(jobs(sortRows(inf, { by: 'value', desc: true }))).toEqual(['big', 'one', 'small']);
  });

  it('leaves the input alone', () => {
    sortRows(vec, { by: 'value', desc: true });
    expect(vec[0].metric.job).toBe('b');
  });
});

describe('toCSV', () => {
  it('writes a vector with a column per label', () => {
    const d: QueryData = { resultType: 'vector', result: vec.slice(0, 2) };
    expect(toCSV(d)).toBe('__name__,instance,job,timestamp,value\r\nup,h:10,b,100,1\r\nup,h:9,a,100,0\r\n');
  });

  it('writes one row per sample of a matrix, quoting where needed', () => {
    const d: QueryData = { resultType: 'matrix', result: [{ metric: { path: '/a,"b"' }, values: [[1, '2'], [2, '3']] }] };
    expect(toCSV(d)).toBe('path,timestamp,value\r\n"/a,""b""",1,2\r\n"/a,""b""",2,3\r\n');
  });

  it('writes a scalar', () => {
    expect(toCSV({ resultType: 'scalar', result: [1.5, '42'] })).toBe('timestamp,value\r\n1.5,42\r\n');
  });
});
