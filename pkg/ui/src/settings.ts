// Settings kept in the browser: the theme and the editor's helpers. A change
// is announced with a "miniprom:settings" event on window, which the editor
// and the graphs listen to; the system's own light/dark switch is announced
// the same way.

export type Theme = 'auto' | 'light' | 'dark';

export interface Settings {
  theme: Theme;
  autocomplete: boolean;
  highlighting: boolean;
  linter: boolean;
  /** Show the API's warnings and info notes above results. */
  warnings: boolean;
}

export const defaultSettings: Settings = { theme: 'auto', autocomplete: true, highlighting: true, linter: true, warnings: true };

const key = 'miniprom.settings';
export const settingsEvent = 'miniprom:settings';

/** loadSettings reads the stored settings; missing or damaged fields take their defaults. */
export function loadSettings(storage: Pick<Storage, 'getItem'> = localStorage): Settings {
  let stored: Record<string, unknown> = {};
  try {
    const v: unknown = JSON.parse(storage.getItem(key) ?? '{}');
    if (v && typeof v === 'object' && !Array.isArray(v)) stored = v as Record<string, unknown>;
  } catch {
    // A damaged entry reads as the defaults.
  }
  const bool = (k: keyof Settings) => (typeof stored[k] === 'boolean' ? (stored[k] as boolean) : (defaultSettings[k] as boolean));
  const theme = ['auto', 'light', 'dark'].includes(stored.theme as string) ? (stored.theme as Theme) : defaultSettings.theme;
  return { theme, autocomplete: bool('autocomplete'), highlighting: bool('highlighting'), linter: bool('linter'), warnings: bool('warnings') };
}

export function saveSettings(s: Settings, storage: Pick<Storage, 'setItem'> = localStorage): void {
  storage.setItem(key, JSON.stringify(s));
}

/** applyTheme marks <html> with an explicit choice; "auto" leaves the
 * stylesheet's prefers-color-scheme rule in charge. */
export function applyTheme(theme: Theme, root: HTMLElement = document.documentElement): void {
  if (theme === 'auto') delete root.dataset.theme;
  else root.dataset.theme = theme;
}

/** watchSystemTheme re-announces the settings when the system switches
 * between light and dark, so canvases redraw in the new colours. */
export function watchSystemTheme(): void {
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => window.dispatchEvent(new Event(settingsEvent)));
}

/** cssVar reads a colour from the stylesheet, for drawing on a canvas. */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
