import { describe, expect, it } from 'vitest';
import { limitUse, parseSeriesLimit, parseSnapshot, snapshotRow } from './tsdb';

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

describe('snapshots', () => {
  const text = (success: number, time: number, failures: number) =>
    `miniprom_snapshot_failures_total ${failures}\nminiprom_snapshot_last_duration_seconds 2.5\n` +
    `miniprom_snapshot_last_size_bytes 1.2345678e+08\nminiprom_snapshot_last_success ${success}\n` +
    `miniprom_snapshot_last_success_timestamp_seconds ${time}\n`;
  it('is absent when snapshots are off', () => {
    expect(parseSnapshot('miniprom_tsdb_series_limit 5\n')).toBeNull();
  });
  it('shows the last snapshot', () => {
    const s = parseSnapshot(text(1, 1.7e9, 0));
    expect(s).toEqual({ lastSuccessTime: 1.7e9, lastSuccess: true, lastDuration: 2.5, lastSize: 123456780, failures: 0 });
    expect(snapshotRow(s!)).toEqual(['2023-11-14 22:13:20 UTC', 'success', '2.5s', '123,456,780 bytes', '0']);
  });
  it('says a failure kept the previous one', () => {
    expect(snapshotRow(parseSnapshot(text(0, 1.7e9, 2))!)[1]).toContain('previous snapshot kept');
    expect(snapshotRow(parseSnapshot(text(0, 0, 0))!)[0]).toBe('none yet');
  });
});
