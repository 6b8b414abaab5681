import { describe, expect, it } from 'vitest';
import { defaultSettings, loadSettings, saveSettings } from './settings';

function memoryStorage(init: Record<string, string> = {}) {
  const m = new Map(Object.entries(init));
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
}

describe('settings', () => {
  it('defaults to the system theme with every editor helper on', () => {
    expect(loadSettings(memoryStorage())).toEqual({ theme: 'auto', autocomplete: true, highlighting: true, linter: true, warnings: true });
  });

  it('round-trips', () => {
    const s = memoryStorage();
    saveSettings({ theme: 'dark', autocomplete: false, highlighting: true, linter: false, warnings: false }, s);
    expect(loadSettings(s)).toEqual({ theme: 'dark', autocomplete: false, highlighting: true, linter: false, warnings: false });
  });

  it.each([
    ['not json', defaultSettings],
    ['[]', defaultSettings],
    ['{"theme":"purple","linter":"no"}', defaultSettings],
    ['{"theme":"light"}', { ...defaultSettings, theme: 'light' }],
  ])('reads %j safely', (raw, want) => {
    expect(loadSettings(memoryStorage({ 'miniprom.settings': raw }))).toEqual(want);
  });
});
