import { describe, expect, it } from 'vitest';
import { bucketRange } from './table';

describe('bucketRange', () => {
  it.each([
    [0, '(0.5, 1]'],
    [1, '[0.5, 1)'],
    [2, '(0.5, 1)'],
    [3, '[0.5, 1]'],
  ])('boundary rule %i', (rule, want) => expect(bucketRange([rule, '0.5', '1', '3'])).toBe(want));
});
