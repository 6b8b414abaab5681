import { describe, expect, it } from 'vitest';
import { limitUse, parseSeriesLimit } from './tsdb';

describe('series limit', () => {
  it('reads the bound from /metrics', () => {
    const text = '# HELP miniprom_tsdb_series_limit x\n# TYPE miniprom_tsdb_series_limit gauge\nminiprom_tsdb_series_limit 3.145728e+06\nother 1\n';
    expect(parseSeriesLimit(text)).toBe(3145728);
    expect(parseSeriesLimit('other 1\n')).toBe(0);
  });
  it('says how much of it is used', () => {
    expect(limitUse(500, 1000)).toContain('50.0% used');
    expect(limitUse(5, 0)).toBe('no limit');
  });
});
