// Recently executed expressions, kept in the browser's localStorage like
// Prometheus's query history: newest first, without duplicates, bounded.

const key = 'miniprom.queryHistory';
export const maxHistory = 50;

/** recentQueries reads the stored history; a damaged entry reads as empty. */
export function recentQueries(storage: Pick<Storage, 'getItem'> = localStorage): string[] {
  try {
    const v: unknown = JSON.parse(storage.getItem(key) ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** rememberQuery puts expr first in the history and returns the new list. */
export function rememberQuery(expr: string, storage: Pick<Storage, 'getItem' | 'setItem'> = localStorage): string[] {
  const list = [expr, ...recentQueries(storage).filter((q) => q !== expr)].slice(0, maxHistory);
  storage.setItem(key, JSON.stringify(list));
  return list;
}
