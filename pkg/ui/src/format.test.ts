import { describe, expect, it } from 'vitest';
import {
  ago,
  formatCount,
  formatDuration,
  formatNumber,
  formatTicks,
  formatTime,
  formatTimeMs,
  humanizeDuration,
  parseDuration,
  parseSampleValue,
  parseTime,
  parseValue,
} from './format';

// vite.config.ts runs the tests with TZ=Asia/Kolkata (UTC+05:30, no DST), so
// local-time cases are the same on every machine and differ from UTC.

describe('parseDuration', () => {
  it.each([
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['2w', 14 * 86_400_000],
    ['1y', 365 * 86_400_000],
    ['90s', 90_000],
    ['250ms', 250],
    ['1d2h3m4s5ms', 93_784_005],
    ['0', 0],
    [' 5m ', 300_000],
  ])('%s', (text, want) => expect(parseDuration(text)).toBe(want));

  it.each(['', 'h', '1.5h', '1m1h', '-1h', '1 h', 'abc'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeNull();
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [3_600_000, '1h'],
    [5_400_000, '1h30m'],
    [14 * 86_400_000, '2w'],
    [90 * 86_400_000, '90d'],
    [365 * 86_400_000, '1y'],
    [93_784_005, '1d2h3m4s5ms'],
  ])('%d', (ms, want) => expect(formatDuration(ms)).toBe(want));

  it('round-trips through parseDuration', () => {
    for (const text of ['1h', '15m', '2d12h', '1w', '30s', '100ms']) {
      expect(formatDuration(parseDuration(text)!)).toBe(text);
    }
  });
});

describe('humanizeDuration', () => {
  it.each([
    [0, '0ms'],
    [12.345, '12.3ms'],
    [4_200, '4.2s'],
    [185_000, '3m 5s'],
    [3_723_000, '1h 2m 3s'],
    [176_403_000, '2d 1h 0m 3s'],
    [-4_200, '-4.2s'],
  ])('%d', (ms, want) => expect(humanizeDuration(ms)).toBe(want));

  it('says never for the zero time', () => {
    expect(ago('0001-01-01T00:00:00Z')).toBe('never');
    expect(ago('2024-01-01T00:00:10Z', Date.UTC(2024, 0, 1, 0, 0, 15))).toBe('5s ago');
  });
});

describe('formatTime and parseTime', () => {
  const t = Date.UTC(2024, 1, 29, 13, 4, 5, 67); // a leap day

  it('formats in UTC and local time', () => {
    expect(formatTime(t, true)).toBe('2024-02-29 13:04:05');
    expect(formatTime(t, false)).toBe('2024-02-29 18:34:05');
    expect(formatTimeMs(t, true)).toBe('2024-02-29 13:04:05.067');
  });

  it('parses what it formats', () => {
    expect(parseTime('2024-02-29 13:04:05', true)).toBe(Date.UTC(2024, 1, 29, 13, 4, 5));
    expect(parseTime('2024-02-29 18:34:05', false)).toBe(Date.UTC(2024, 1, 29, 13, 4, 5));
    expect(parseTime(formatTimeMs(t, false), false)).toBe(t);
  });

  it.each([
    ['2024-02-29', Date.UTC(2024, 1, 29)],
    ['2024-02-29T13:04', Date.UTC(2024, 1, 29, 13, 4)],
    ['2024-02-29 13:04:05.5', Date.UTC(2024, 1, 29, 13, 4, 5, 500)],
    ['1709211845', Date.UTC(2024, 1, 29, 13, 4, 5)],
    ['1709211845.25', Date.UTC(2024, 1, 29, 13, 4, 5, 250)],
  ])('parses %s', (text, want) => expect(parseTime(text, true)).toBe(want));

  it('takes a trailing Z as UTC even in local mode', () => {
    expect(parseTime('2024-02-29T13:04:05Z', false)).toBe(Date.UTC(2024, 1, 29, 13, 4, 5));
  });

  it.each(['', 'now', '2023-02-29 00:00:00', '2024-13-01', '2024-1-1', '12:00'])('rejects %j', (text) => {
    expect(parseTime(text)).toBeNull();
  });
});

describe('formatNumber', () => {
  it.each([
    [0, '0'],
    [1, '1'],
    [0.5, '0.5'],
    [12.3456, '12.35'],
    [999.9, '999.9'],
    [1000, '1k'],
    [1234567, '1.235M'],
    [999_999, '1M'],
    [-2_500, '-2.5k'],
    [3e12, '3T'],
    [0.01, '0.01'],
    [0.005, '5m'],
    [0.001, '1m'],
    [0.0009, '900µ'],
    [1.5e-9, '1.5n'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
  ])('%d', (v, want) => expect(formatNumber(v)).toBe(want));

  it('writes nothing for a gap', () => {
    expect(formatNumber(null)).toBe('');
  });

  it('counts with separators', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
  });
});

describe('parseSampleValue', () => {
  it.each([
    ['1.5', 1.5],
    ['-3e-5', -3e-5],
    ['NaN', null],
    ['+Inf', null],
    ['-Inf', null],
  ])('%s', (s, want) => expect(parseSampleValue(s)).toBe(want));
});

describe('parseValue', () => {
  it.each([
    ['1.5', 1.5],
    ['0.1', 0.1],
    ['+Inf', Infinity],
    ['-Inf', -Infinity],
    ['NaN', NaN],
  ])('%s', (s, want) => expect(parseValue(s)).toBe(want));
});

describe('formatTicks', () => {
  it.each([
    ['keeps 4 digits when they differ', [0, 0.5, 1, 1.5], ['0', '0.5', '1', '1.5']],
    ['raises precision for time()', [1796000000, 1796000050, 1796000100], ['1.796G', '1.79600005G', '1.7960001G']],
    ['large steps stay short', [0, 1e6, 2e6], ['0', '1M', '2M']],
    ['small values', [0.001, 0.0011, 0.0012], ['1m', '1.1m', '1.2m']],
  ])('%s', (_name, ticks, want) => expect(formatTicks(ticks)).toEqual(want));

  it('makes neighbouring ticks differ', () => {
    const ticks = [1796123400, 1796123410, 1796123420, 1796123430];
    const out = formatTicks(ticks);
    expect(new Set(out).size).toBe(ticks.length);
    expect(out[1]).toBe('1.79612341G');
  });
});
