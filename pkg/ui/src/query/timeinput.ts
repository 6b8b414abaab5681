// The end time (Graph) and evaluation time (Table) control: a text field for
// typed times, the browser's own date-time picker, − and + buttons that step
// the time, and "now". A time that does not parse is reported next to the
// field, since the result shown is still the one for the previous time.

import { h, replace } from '../dom';
import { formatDuration, formatTime, parseTime } from '../format';

export interface TimeInputOptions {
  label: string;
  /** How far − and + move the time, in milliseconds. */
  step(): number;
  utc(): boolean;
  /** onChange receives the new time; null is "now". */
  onChange(t: number | null): void;
}

export class TimeInput {
  readonly el: HTMLElement;
  private readonly text: HTMLInputElement;
  private readonly picker: HTMLInputElement;
  private readonly error: HTMLElement;
  private readonly back: HTMLButtonElement;
  private readonly forward: HTMLButtonElement;
  private value: number | null = null;

  constructor(private readonly o: TimeInputOptions) {
    this.text = h('input', {
      type: 'text',
      className: 'time',
      placeholder: 'now',
      'aria-label': o.label,
      onchange: () => this.typed(),
    });
    // datetime-local carries no zone; it is read in the page's zone (UTC or local).
    this.picker = h('input', {
      type: 'datetime-local',
      step: '1',
      className: 'picker',
      'aria-label': `${o.label} picker`,
      onchange: () => this.picked(),
    });
    this.error = h('span', { className: 'error-text time-error', role: 'alert', hidden: true });
    this.back = h('button', { type: 'button', onclick: () => this.shift(-1) }, '−');
    this.forward = h('button', { type: 'button', onclick: () => this.shift(1) }, '+');
    this.el = h(
      'span',
      { className: 'time-input' },
      h('label', null, `${o.label} `, this.text),
      this.picker,
      this.back,
      this.forward,
      h('button', { type: 'button', title: 'Use the current time', onclick: () => this.commit(null) }, 'now'),
      this.error,
    );
  }

  /** set shows a time without reporting it. */
  set(t: number | null): void {
    this.value = t;
    const utc = this.o.utc();
    this.text.value = t === null ? '' : formatTime(t, utc);
    this.picker.value = t === null ? '' : formatTime(t, utc).replace(' ', 'T');
    this.text.classList.remove('invalid');
    this.text.removeAttribute('aria-invalid');
    this.error.hidden = true;
    const step = formatDuration(this.o.step());
    this.back.title = `Back ${step}`;
    this.forward.title = `Forward ${step}`;
    this.back.setAttribute('aria-label', `${this.o.label} back ${step}`);
    this.forward.setAttribute('aria-label', `${this.o.label} forward ${step}`);
  }

  private typed(): void {
    const s = this.text.value.trim();
    if (s === '') return this.commit(null);
    const t = parseTime(s, this.o.utc());
    if (t === null) {
      this.text.classList.add('invalid');
      this.text.setAttribute('aria-invalid', 'true');
      const shown = this.value === null ? 'now' : formatTime(this.value, this.o.utc());
      replace(this.error, `Invalid time "${s}": use YYYY-MM-DD HH:mm:ss or a Unix timestamp. The result shown is still for ${shown}.`);
      this.error.hidden = false;
      return;
    }
    this.commit(t);
  }

  private picked(): void {
    if (this.picker.value === '') return this.commit(null);
    const t = parseTime(this.picker.value, this.o.utc());
    if (t !== null) this.commit(t);
  }

  private shift(dir: 1 | -1): void {
    this.commit((this.value ?? Date.now()) + dir * this.o.step());
  }

  private commit(t: number | null): void {
    this.set(t);
    this.o.onChange(t);
  }
}
