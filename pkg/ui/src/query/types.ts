// Shapes of /api/v1/query and /api/v1/query_range results.

import type { Labels } from '../labels';

/** A sample as the API writes it: [Unix seconds, value as a string]. */
export type Sample = [number, string];

export interface Histogram {
  count: string;
  sum: string;
  buckets?: [number, string, string, string][];
}

export interface InstantSample {
  metric: Labels;
  value?: Sample;
  histogram?: [number, Histogram];
}

export interface RangeSeries {
  metric: Labels;
  values?: Sample[];
  histograms?: [number, Histogram][];
}

/** Stats is the part of stats=all that the panels show. */
export interface Stats {
  timings?: { evalTotalTime?: number };
  samples?: { totalQueryableSamples?: number };
}

export type QueryData = (
  | { resultType: 'vector'; result: InstantSample[] }
  | { resultType: 'matrix'; result: RangeSeries[] }
  | { resultType: 'scalar'; result: Sample }
  | { resultType: 'string'; result: Sample }
) & { stats?: Stats };

/** resultCount is what the panel reports as the number of results. */
export function resultCount(d: QueryData): number {
  return d.resultType === 'vector' || d.resultType === 'matrix' ? d.result.length : 1;
}
