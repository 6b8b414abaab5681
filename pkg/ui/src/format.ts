// Time, duration and number formatting shared by every page. Pure functions,
// covered by format.test.ts.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
const YEAR = 365 * DAY;

const durationUnits: [string, number][] = [
  ['y', YEAR],
  ['w', WEEK],
  ['d', DAY],
  ['h', HOUR],
  ['m', MINUTE],
  ['s', SECOND],
  ['ms', 1],
];

const durationRE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** parseDuration reads a Prometheus duration ("1h30m", "2w", "0") into
 * milliseconds; null when it is not one. */
export function parseDuration(text: string): number | null {
  const s = text.trim();
  if (s === '0') return 0;
  const m = durationRE.exec(s);
  if (s === '' || !m) return null;
  return durationUnits.reduce((sum, [, mult], i) => sum + (m[i + 1] ? parseInt(m[i + 1], 10) * mult : 0), 0);
}

/** formatDuration writes milliseconds as a Prometheus duration. Years and
 * weeks are used only when exact, since "90d" reads better than "12w6d". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const [unit, mult] of durationUnits) {
    if ((unit === 'y' || unit === 'w') && rest % mult !== 0) continue;
    const n = Math.floor(rest / mult);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * mult;
    }
  }
  return out;
}

/** humanizeDuration writes an elapsed time for people: "12.3ms", "4.2s",
 * "3m 5s", "2d 1h 0m 3s". */
export function humanizeDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < SECOND) return `${sign}${trimNumber(abs, 3)}ms`;
  if (abs < MINUTE) return `${sign}${trimNumber(abs / SECOND, 3)}s`;
  const d = Math.floor(abs / DAY);
  const hh = Math.floor((abs % DAY) / HOUR);
  const mm = Math.floor((abs % HOUR) / MINUTE);
  const ss = Math.floor((abs % MINUTE) / SECOND);
  if (d > 0) return `${sign}${d}d ${hh}h ${mm}m ${ss}s`;
  if (hh > 0) return `${sign}${hh}h ${mm}m ${ss}s`;
  return `${sign}${mm}m ${ss}s`;
}

/** ago writes how long before now a time was; Prometheus reports "never"
 * as the zero time, which lands far in the past. */
export function ago(iso: string, now = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t) || t <= 0) return 'never';
  return `${humanizeDuration(now - t)} ago`;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** formatTime writes a time as "YYYY-MM-DD HH:mm:ss", the form of
 * Prometheus's end_input/moment_input link parameters, in UTC or local time. */
export function formatTime(ms: number, utc = true): string {
  const d = new Date(ms);
  const [y, mo, da, hh, mi, ss] = utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
  return `${y}-${pad(mo)}-${pad(da)} ${pad(hh)}:${pad(mi)}:${pad(ss)}`;
}

/** formatTimeMs is formatTime with milliseconds, for sample timestamps. */
export function formatTimeMs(ms: number, utc = true): string {
  const frac = ((ms % 1000) + 1000) % 1000;
  return `${formatTime(ms, utc)}.${pad(Math.floor(frac), 3)}`;
}

const timeRE = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?(Z)?$/;

/** parseTime reads "YYYY-MM-DD[ HH:mm[:ss[.SSS]]]" in UTC or local time (a
 * trailing Z forces UTC), or a Unix timestamp in seconds; null when neither. */
export function parseTime(text: string, utc = true): number | null {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(parseFloat(s) * 1000);
  const m = timeRE.exec(s);
  if (!m) return null;
  const [y, mo, d, hh = 0, mi = 0, ss = 0] = m.slice(1, 7).map((x) => (x === undefined ? 0 : parseInt(x, 10)));
  const msPart = m[7] ? parseInt(m[7].padEnd(3, '0'), 10) : 0;
  const ms =
    utc || m[8] ? Date.UTC(y, mo - 1, d, hh, mi, ss, msPart) : new Date(y, mo - 1, d, hh, mi, ss, msPart).getTime();
  // Date rolls 2024-02-31 over into March; a typo should not do that silently.
  const check = new Date(ms);
  const [cm, cd] = utc || m[8] ? [check.getUTCMonth(), check.getUTCDate()] : [check.getMonth(), check.getDate()];
  return cm === mo - 1 && cd === d ? ms : null;
}

function trimNumber(v: number, digits: number): string {
  return String(parseFloat(v.toPrecision(digits)));
}

const bigPrefixes = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y'];
const smallPrefixes = ['', 'm', 'µ', 'n', 'p', 'f', 'a', 'z', 'y'];

/** formatNumber writes a value for an axis or a legend: up to digits
 * (default 4) significant digits, with an SI prefix for large (≥ 1000) and
 * small (< 0.01) values. */
export function formatNumber(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined) return '';
  if (!Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf';
  const abs = Math.abs(v);
  if (abs === 0) return '0';
  if (abs >= 1000) {
    let i = Math.min(Math.floor(Math.log10(abs) / 3), bigPrefixes.length - 1);
    // Rounding can carry into the next prefix: 999999 is "1M".
    if (Math.abs(parseFloat((v / 1000 ** i).toPrecision(digits))) >= 1000 && i < bigPrefixes.length - 1) i++;
    return trimNumber(v / 1000 ** i, digits) + bigPrefixes[i];
  }
  if (abs < 0.01) {
    const i = Math.min(Math.ceil(-Math.log10(abs) / 3), smallPrefixes.length - 1);
    return trimNumber(v * 1000 ** i, digits) + smallPrefixes[i];
  }
  return trimNumber(v, digits);
}

/** formatTicks writes an axis's tick values with as many significant digits
 * as it takes for neighbouring ticks to read differently, as Prometheus's
 * graph does: the ticks of time() differ in the 9th digit, and "1.796G"
 * five times says nothing. */
export function formatTicks(ticks: number[]): string[] {
  let out = ticks.map((v) => formatNumber(v));
  for (let digits = 5; digits <= 17 && out.some((s, i) => i > 0 && s === out[i - 1] && ticks[i] !== ticks[i - 1]); digits++) {
    out = ticks.map((v) => formatNumber(v, digits));
  }
  return out;
}

/** formatCount writes an integer with thousands separators: 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** parseValue reads a float as the API writes it, infinities included:
 * JavaScript's Number reads "+Inf" and "-Inf" as NaN. */
export function parseValue(s: string): number {
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

/** parseSampleValue reads a sample value as the API writes it ("1.5",
 * "NaN", "+Inf"); uPlot draws only finite numbers, so others become null. */
export function parseSampleValue(s: string): number | null {
  const v = parseFloat(s);
  return Number.isFinite(v) ? v : null;
}
