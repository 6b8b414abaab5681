// Status: runtime and build information.

import { get } from '../api';
import { h, replace, table } from '../dom';
import { formatTime } from '../format';

type Info = Record<string, string | number | boolean>;

// Names as Prometheus's status page shows them; unknown keys fall through as-is.
const titles: Record<string, string> = {
  startTime: 'Start time',
  CWD: 'Working directory',
  reloadConfigSuccess: 'Configuration reload',
  lastConfigTime: 'Last successful configuration reload',
  corruptionCount: 'WAL corruptions',
  goroutineCount: 'Goroutines',
  GOMAXPROCS: 'GOMAXPROCS',
  GOMEMLIMIT: 'GOMEMLIMIT',
  GOGC: 'GOGC',
  GODEBUG: 'GODEBUG',
  storageRetention: 'Storage retention',
  hostname: 'Hostname',
  serverTime: 'Server time',
  version: 'Version',
  revision: 'Revision',
  branch: 'Branch',
  buildUser: 'Build user',
  buildDate: 'Build date',
  goVersion: 'Go version',
};

function value(key: string, v: string | number | boolean): string {
  if (key === 'reloadConfigSuccess') return v ? 'Successful' : 'Unsuccessful';
  if ((key === 'startTime' || key === 'lastConfigTime' || key === 'serverTime') && typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) || t <= 0 ? v : `${formatTime(t, true)} UTC`;
  }
  return String(v);
}

function infoTable(info: Info): HTMLTableElement {
  return table(
    ['Name', 'Value'],
    Object.entries(info).map(([k, v]) => [titles[k] ?? k, value(k, v)]),
    'kv',
  );
}

export async function render(root: HTMLElement): Promise<void> {
  const [runtime, build] = await Promise.all([get<Info>('status/runtimeinfo'), get<Info>('status/buildinfo')]);
  replace(
    root,
    h('h1', null, 'Runtime information'),
    infoTable(runtime.data),
    h('h1', null, 'Build information'),
    infoTable(build.data),
  );
}
