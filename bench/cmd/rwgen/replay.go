package main

import (
	"fmt"
	"math"
	"os"
	"slices"
	"sort"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"
)

// replay is a realistic source of samples: the series of real scrapes
// (snapshots of a node_exporter's /metrics taken a second apart), replayed
// for many instances. A counter (and a histogram's or summary's buckets,
// counts and sums) keeps rising by the increments captured between
// consecutive snapshots, cycled; a gauge replays the captured values,
// cycled. Each instance starts the cycle at its own offset, so instances
// differ as real machines do, while every run over the same snapshots
// writes the same samples.
type replay struct {
	labels  [][]prompb.Label
	counter []bool
	// values holds, per series, the value in each snapshot (NaN where the
	// series was absent: it is then not written at that step).
	values [][]float64
	// delta holds, per counter series, the increments between snapshots.
	delta [][]float64
	total []float64 // a counter's running value
	step  []int     // per series: how many samples it has had
	inst  []int     // per series: its instance's offset in the cycle
}

// newReplay reads snapshot files (text exposition format) and makes
// instances copies of every series, labelled job="node" and
// instance="node-NNN:9100".
func newReplay(files []string, instances int) (*replay, error) {
	type series struct {
		labels  []prompb.Label
		counter bool
		values  []float64
	}
	byKey := map[string]*series{}
	for i, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(fh)
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		add := func(name string, m *dto.Metric, extra []prompb.Label, counter bool, v float64) {
			ls := []prompb.Label{{Name: model.MetricNameLabel, Value: name}}
			for _, lp := range m.GetLabel() {
				ls = append(ls, prompb.Label{Name: lp.GetName(), Value: lp.GetValue()})
			}
			ls = append(ls, extra...)
			key := fmt.Sprint(ls)
			s, ok := byKey[key]
			if !ok {
				s = &series{labels: ls, counter: counter, values: make([]float64, len(files))}
				for j := range s.values {
					s.values[j] = math.NaN()
				}
				byKey[key] = s
			}
			s.values[i] = v
		}
		for name, mf := range families {
			for _, m := range mf.GetMetric() {
				switch mf.GetType() {
				case dto.MetricType_COUNTER:
					add(name, m, nil, true, m.GetCounter().GetValue())
				case dto.MetricType_GAUGE:
					add(name, m, nil, false, m.GetGauge().GetValue())
				case dto.MetricType_UNTYPED:
					add(name, m, nil, false, m.GetUntyped().GetValue())
				case dto.MetricType_HISTOGRAM:
					h := m.GetHistogram()
					for _, b := range h.GetBucket() {
						add(name+"_bucket", m, []prompb.Label{{Name: "le", Value: model.FloatString(b.GetUpperBound()).String()}}, true, float64(b.GetCumulativeCount()))
					}
					add(name+"_bucket", m, []prompb.Label{{Name: "le", Value: "+Inf"}}, true, float64(h.GetSampleCount()))
					add(name+"_sum", m, nil, true, h.GetSampleSum())
					add(name+"_count", m, nil, true, float64(h.GetSampleCount()))
				case dto.MetricType_SUMMARY:
					s := m.GetSummary()
					for _, q := range s.GetQuantile() {
						add(name, m, []prompb.Label{{Name: "quantile", Value: model.FloatString(q.GetQuantile()).String()}}, false, q.GetValue())
					}
					add(name+"_sum", m, nil, true, s.GetSampleSum())
					add(name+"_count", m, nil, true, float64(s.GetSampleCount()))
				}
			}
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	r := &replay{}
	for i := range instances {
		inst := prompb.Label{Name: "instance", Value: fmt.Sprintf("node-%03d:9100", i)}
		job := prompb.Label{Name: "job", Value: "node"}
		for _, k := range keys {
			s := byKey[k]
			ls := append(slices.Clone(s.labels), inst, job)
			sort.Slice(ls, func(a, b int) bool { return ls[a].Name < ls[b].Name })
			r.labels = append(r.labels, ls)
			r.counter = append(r.counter, s.counter)
			r.values = append(r.values, s.values)
			var d []float64
			if s.counter {
				for j := 1; j < len(s.values); j++ {
					inc := s.values[j] - s.values[j-1]
					if math.IsNaN(inc) || inc < 0 {
						inc = 0
					}
					d = append(d, inc)
				}
				if len(d) == 0 {
					d = []float64{0}
				}
			}
			r.delta = append(r.delta, d)
			r.total = append(r.total, firstNumber(s.values))
			r.step = append(r.step, 0)
			r.inst = append(r.inst, i)
		}
	}
	return r, nil
}

func firstNumber(vs []float64) float64 {
	for _, v := range vs {
		if !math.IsNaN(v) {
			return v
		}
	}
	return 0
}

func (r *replay) count() int { return len(r.labels) }

// block returns every series' samples in [from, to] (ms).
func (r *replay) block(from, to, step int64) *prompb.WriteRequest {
	req := &prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, 0, len(r.labels))}
	n := int((to-from)/step) + 1
	for i := range r.labels {
		ts := prompb.TimeSeries{Labels: r.labels[i], Samples: make([]prompb.Sample, 0, n)}
		for t := from; t <= to; t += step {
			k := r.step[i] + r.inst[i]
			r.step[i]++
			var v float64
			if r.counter[i] {
				if r.step[i] > 1 {
					r.total[i] += r.delta[i][k%len(r.delta[i])]
				}
				v = r.total[i]
			} else {
				v = r.values[i][k%len(r.values[i])]
				if math.IsNaN(v) {
					continue
				}
			}
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: t, Value: v})
		}
		if len(ts.Samples) > 0 {
			req.Timeseries = append(req.Timeseries, ts)
		}
	}
	return req
}
