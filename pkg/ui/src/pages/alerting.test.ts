import { describe, expect, it } from 'vitest';
import { formatAlertValue } from './alerting';

describe('formatAlertValue', () => {
  it.each([
    ['1e+00', '1'],
    ['4.2e+01', '42'],
    ['1.5e-03', '0.0015'],
    ['NaN', 'NaN'],
    ['+Inf', '+Inf'],
    ['-Inf', '-Inf'],
    ['1.23456789e+09', '1234567890'],
  ])('%s reads %s', (v, want) => expect(formatAlertValue(v)).toBe(want));
});
