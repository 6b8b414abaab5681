import { describe, expect, it } from 'vitest';
import { yamlTokens } from './yaml';

const marked = (text: string) => yamlTokens(text).filter(([cls]) => cls !== '');

describe('yamlTokens', () => {
  it('marks keys, strings, numbers, durations, booleans and comments', () => {
    expect(marked('global:\n  scrape_interval: 1m30s\n  honor_labels: true\n  # note\n  job_name: "x" # why\n  - static')).toEqual([
      ['y-key', 'global'],
      ['y-key', 'scrape_interval'],
      ['y-number', '1m30s'],
      ['y-key', 'honor_labels'],
      ['y-bool', 'true'],
      ['y-comment', '  # note'],
      ['y-key', 'job_name'],
      ['y-string', '"x"'],
      ['y-comment', ' # why'],
      ['y-string', 'static'],
    ]);
  });

  it('keeps the text as it was, and flow collections plain', () => {
    const text = "scrape_configs:\n- job_name: a\n  static_configs:\n  - targets: ['h:1']\n    labels: {a: b}\n";
    expect(yamlTokens(text).map(([, t]) => t).join('')).toBe(text);
    expect(marked('labels: {a: b}')).toEqual([['y-key', 'labels']]);
  });
});
