import { describe, expect, it } from 'vitest';
import { fuzzyFilter, fuzzyScore } from './fuzzy';

describe('fuzzy', () => {
  it('needs the characters in order', () => {
    expect(fuzzyScore('hrt', 'http_requests_total')).not.toBeNull();
    expect(fuzzyScore('thr', 'http_requests_total')).toBeNull();
  });

  it('ranks substrings, then word starts, first', () => {
    const names = ['go_gc_duration_seconds', 'http_request_duration_seconds', 'prometheus_http_requests_total', 'up'];
    expect(fuzzyFilter('http_req', names)).toEqual(['http_request_duration_seconds', 'prometheus_http_requests_total']);
    expect(fuzzyFilter('hrds', names)[0]).toBe('http_request_duration_seconds');
    expect(fuzzyFilter('', names, 2)).toEqual(['go_gc_duration_seconds', 'http_request_duration_seconds']);
  });
});
