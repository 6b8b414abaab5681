import { describe, expect, it } from 'vitest';
import { maxHistory, recentQueries, rememberQuery } from './history';

function memoryStorage(init: Record<string, string> = {}) {
  const m = new Map(Object.entries(init));
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
}

describe('query history', () => {
  it('keeps the newest first, without duplicates', () => {
    const s = memoryStorage();
    rememberQuery('up', s);
    rememberQuery('rate(x[5m])', s);
    expect(rememberQuery('up', s)).toEqual(['up', 'rate(x[5m])']);
    expect(recentQueries(s)).toEqual(['up', 'rate(x[5m])']);
  });

  it('is bounded', () => {
    const s = memoryStorage();
    for (let i = 0; i < maxHistory + 10; i++) rememberQuery(`q${i}`, s);
    const list = recentQueries(s);
    expect(list.length).toBe(maxHistory);
    expect(list[0]).toBe(`q${maxHistory + 9}`);
  });

  it.each(['not json', '{"a":1}', '[1, "up"]'])('reads a damaged entry %j safely', (raw) => {
    const list = recentQueries(memoryStorage({ 'miniprom.queryHistory': raw }));
    expect(list.every((q) => typeof q === 'string')).toBe(true);
  });
});
