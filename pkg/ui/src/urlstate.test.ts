import { describe, expect, it } from 'vitest';
import { autoStep, decodePanels, encodePanels, newPanel, type PanelState } from './urlstate';

const hour = 3_600_000;

describe('decodePanels', () => {
  it('reads a classic Prometheus graph link (tab 0 is the graph)', () => {
    const [p, ...rest] = decodePanels('?g0.expr=up&g0.tab=0&g0.range_input=1h');
    expect(rest).toHaveLength(0);
    expect(p).toEqual({ ...newPanel('up'), tab: 'graph', range: hour });
  });

  it('reads a classic table link with times, step and stacking', () => {
    const [p] = decodePanels(
      'g0.expr=rate(http_requests_total%5B5m%5D)&g0.tab=1&g0.stacked=1&g0.range_input=2d&g0.end_input=2024-03-01%2012%3A00%3A00&g0.moment_input=2024-03-01%2012%3A00%3A00&g0.step_input=30',
    );
    expect(p).toEqual<PanelState>({
      expr: 'rate(http_requests_total[5m])',
      tab: 'table',
      range: 48 * hour,
      endTime: Date.UTC(2024, 2, 1, 12),
      step: 30_000,
      stacked: true,
      yZero: false,
      compare: null,
    });
  });

  it('reads an alert generatorURL with a + for a space', () => {
    const [p] = decodePanels('g0.expr=up+%3D%3D+0&g0.tab=1');
    expect(p.expr).toBe('up == 0');
    expect(p.tab).toBe('table');
  });

  it('reads Prometheus 3 links', () => {
    const [p] = decodePanels(
      'g0.expr=up&g0.show_tree=0&g0.tab=graph&g0.range_input=15m&g0.res_type=fixed&g0.res_step=10&g0.display_mode=stacked&g0.y_axis_min=0&g0.show_exemplars=0',
    );
    expect(p).toMatchObject({ expr: 'up', tab: 'graph', range: 15 * 60_000, step: 10_000, stacked: true, yZero: true });
  });

  it('reads several panels and stops at the first gap', () => {
    const panels = decodePanels('g0.expr=a&g1.expr=b&g1.tab=0&g3.expr=d');
    expect(panels.map((p) => [p.expr, p.tab])).toEqual([
      ['a', 'table'],
      ['b', 'graph'],
    ]);
  });

  it('keeps defaults for bad values', () => {
    const [p] = decodePanels('g0.expr=up&g0.range_input=soon&g0.step_input=-5&g0.tab=9');
    expect(p).toEqual(newPanel('up'));
  });

  it('finds nothing without panels', () => {
    expect(decodePanels('')).toEqual([]);
    expect(decodePanels('foo=bar')).toEqual([]);
  });
});

describe('encodePanels', () => {
  it('round-trips', () => {
    const panels: PanelState[] = [
      { expr: 'sum by (job) (up{job=~"a|b"})', tab: 'graph', range: 6 * hour, endTime: Date.UTC(2024, 0, 2, 3, 4, 5), step: 15_000, stacked: true, yZero: true, compare: 86_400_000 },
      newPanel(''),
    ];
    expect(decodePanels(encodePanels(panels).toString())).toEqual(panels);
  });

  it('writes the Prometheus parameter names', () => {
    const params = encodePanels([{ ...newPanel('up'), tab: 'graph', endTime: Date.UTC(2024, 0, 2, 3, 4, 5) }]);
    expect(Object.fromEntries(params)).toEqual({
      'g0.expr': 'up',
      'g0.tab': 'graph',
      'g0.range_input': '1h',
      'g0.end_input': '2024-01-02 03:04:05',
      'g0.moment_input': '2024-01-02 03:04:05',
      'g0.res_type': 'auto',
      'g0.display_mode': 'lines',
    });
  });
});

describe('autoStep', () => {
  it.each([
    [hour, 14_000],
    [60_000, 1_000],
    [1_000, 1_000],
    [7 * 24 * hour, 2_419_000],
  ])('%d', (range, want) => expect(autoStep(range)).toBe(want));
});
