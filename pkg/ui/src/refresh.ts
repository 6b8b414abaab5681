// Auto-refresh, off by default: a select of intervals that calls back while
// the page is visible.

import { h } from './dom';
import { formatDuration, parseDuration } from './format';

const choices = ['5s', '10s', '30s', '1m', '5m'];

/** refreshSelect offers "off" and the intervals; tick runs every interval
 * while the tab is visible, and stop() ends it (when its owner goes away). */
export function refreshSelect(tick: () => void): { el: HTMLElement; stop(): void } {
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };
  const select = h(
    'select',
    {
      'aria-label': 'Auto-refresh',
      onchange: () => {
        stop();
        const ms = parseDuration(select.value);
        if (ms) {
          timer = setInterval(() => {
            if (!document.hidden) tick();
          }, ms);
        }
      },
    },
    h('option', { value: '' }, 'off'),
    choices.map((c) => h('option', { value: c }, `every ${formatDuration(parseDuration(c)!)}`)),
  );
  return { el: h('label', { className: 'refresh' }, 'Auto-refresh ', select), stop };
}
