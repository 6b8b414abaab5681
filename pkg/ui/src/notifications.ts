// The notifications indicator: a bell in the nav with the number of active
// server notifications (/api/v1/notifications), such as a failed config
// reload; the list opens below it. It is read on each page load and again
// whenever the menu opens.

import { get } from './api';
import { h, replace } from './dom';
import { formatTime } from './format';
import { dropdown } from './menu';

interface Notification {
  text: string;
  date: string;
  active: boolean;
}

export function notificationsMenu(): HTMLElement {
  const count = h('span', { className: 'dot', hidden: true });
  const list = h('div', { className: 'notifications', role: 'dialog', 'aria-label': 'Notifications' });
  const load = async () => {
    try {
      const { data } = await get<Notification[]>('notifications');
      const active = (data ?? []).filter((n) => n.active);
      count.textContent = String(active.length);
      count.hidden = active.length === 0;
      replace(
        list,
        active.length === 0
          ? h('p', { className: 'empty' }, 'No notifications.')
          : h(
              'ul',
              null,
              active.map((n) => h('li', null, n.text, h('div', { className: 'muted' }, `${formatTime(Date.parse(n.date), true)} UTC`))),
            ),
      );
    } catch {
      // A server without notifications (Prometheus before 3.0) has no bell to ring.
      replace(list, h('p', { className: 'empty' }, 'This server does not report notifications.'));
    }
  };
  void load();
  return dropdown(h('span', { className: 'bell' }, bellIcon(), count), 'Notifications', list, () => void load());
}

/** bellIcon is drawn inline: an emoji bell needs a colour-emoji font that
 * many Linux desktops lack. */
function bellIcon(): SVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '16');
  svg.setAttribute('height', '16');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', 'M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1z');
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}
