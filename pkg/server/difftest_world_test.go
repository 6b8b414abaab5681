package server_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
)

// The differential test's data: hosts in zones, each with a gauge, a
// counter per status code, a classic histogram and an info series, sampled
// every dtInterval. Everything comes from one seeded generator, so a seed
// replays a run.

const dtInterval = 15 * time.Second

var dtZones = []string{"a", "b", "c"}

// dtBuckets are the histogram's upper bounds, +Inf last.
var dtBuckets = []float64{0.05, 0.1, 0.5, 1, math.Inf(1)}

type dtHost struct {
	name, zone, team string
	phase            float64
	requests         [2]float64 // by dtCodes
	buckets          []float64  // cumulative, by dtBuckets
	sum, count       float64
	gone             bool // stale or deleted: no longer written
}

var dtCodes = []string{"200", "500"}

// dtWorld generates the samples both servers are sent.
type dtWorld struct {
	rng    *rand.Rand
	hosts  []*dtHost // in creation order
	origin time.Time // the first sample's time: values depend on time since then
	newest time.Time // the newest sample written
}

func newDTWorld(seed uint64) *dtWorld {
	return &dtWorld{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// addHost makes a host in zone; the caller writes its samples.
func (w *dtWorld) addHost(name, zone string) *dtHost {
	h := &dtHost{name: name, zone: zone, team: fmt.Sprintf("team-%d", w.rng.IntN(3)),
		phase: w.rng.Float64() * 2 * math.Pi, buckets: make([]float64, len(dtBuckets))}
	w.hosts = append(w.hosts, h)
	return h
}

func (w *dtWorld) host(name string) *dtHost {
	for _, h := range w.hosts {
		if h.name == name {
			return h
		}
	}
	return nil
}

// liveHosts are the hosts still written, in creation order.
func (w *dtWorld) liveHosts() []*dtHost {
	var live []*dtHost
	for _, h := range w.hosts {
		if !h.gone {
			live = append(live, h)
		}
	}
	return live
}

// backfillName is a name for a new host in zone that sorts between two of
// the zone's hosts (host-40 between host-4 and host-7), so that the head
// holds the zone's series out of label order.
func (w *dtWorld) backfillName(zone string) string {
	var names []string
	for _, h := range w.hosts {
		if h.zone == zone {
			names = append(names, h.name)
		}
	}
	slices.Sort(names)
	names = names[:len(names)-1] // the last sorts after the new one
	for {
		name := fmt.Sprintf("%s%d", pick(w.rng, names...), w.rng.IntN(10))
		if w.host(name) == nil {
			return name
		}
	}
}

// dtSample is one series' sample.
type dtSample struct {
	labels []prompb.Label // sorted by name
	v      float64
}

func dtLabels(pairs ...string) []prompb.Label {
	ls := make([]prompb.Label, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		ls = append(ls, prompb.Label{Name: pairs[i], Value: pairs[i+1]})
	}
	slices.SortFunc(ls, func(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) })
	return ls
}

// scrape advances h to t and returns its samples, in a fixed series order.
func (w *dtWorld) scrape(h *dtHost, t time.Time) []dtSample {
	gauge := 50 + 20*math.Sin(t.Sub(w.origin).Seconds()/600+h.phase) + 3*w.rng.Float64()
	out := []dtSample{{dtLabels("__name__", "dt_gauge", "zone", h.zone, "host", h.name), gauge}}
	for i, code := range dtCodes {
		if w.rng.IntN(400) == 0 {
			h.requests[i] = 0 // a restart
		}
		h.requests[i] += w.rng.Float64() * 10 / float64(1+4*i)
		out = append(out, dtSample{dtLabels("__name__", "dt_requests_total", "zone", h.zone, "host", h.name, "code", code), h.requests[i]})
	}
	for range w.rng.IntN(20) {
		v := w.rng.ExpFloat64() * 0.3
		for i, le := range dtBuckets {
			if v <= le {
				h.buckets[i]++
			}
		}
		h.sum += v
		h.count++
	}
	for i, le := range dtBuckets {
		out = append(out, dtSample{dtLabels("__name__", "dt_latency_seconds_bucket", "zone", h.zone, "host", h.name, "le", formatLE(le)), h.buckets[i]})
	}
	out = append(out,
		dtSample{dtLabels("__name__", "dt_latency_seconds_sum", "zone", h.zone, "host", h.name), h.sum},
		dtSample{dtLabels("__name__", "dt_latency_seconds_count", "zone", h.zone, "host", h.name), h.count},
		dtSample{dtLabels("__name__", "dt_host_info", "host", h.name, "team", h.team), 1},
	)
	return out
}

func formatLE(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return fmt.Sprint(le)
}

// staleMarkers ends every series of h at t, as a scrape that lost its
// target does.
func (w *dtWorld) staleMarkers(h *dtHost, t time.Time) []dtSample {
	out := w.scrape(h, t)
	for i := range out {
		out[i].v = math.Float64frombits(value.StaleNaN)
	}
	h.gone = true
	return out
}

// dtBatch is one remote write request: series in the order first added,
// which is the order a head creates them in.
type dtBatch struct {
	series []prompb.TimeSeries
	index  map[string]int
}

func (b *dtBatch) add(t time.Time, samples []dtSample) {
	if b.index == nil {
		b.index = map[string]int{}
	}
	for _, s := range samples {
		key := fmt.Sprint(s.labels)
		i, ok := b.index[key]
		if !ok {
			i = len(b.series)
			b.index[key] = i
			b.series = append(b.series, prompb.TimeSeries{Labels: s.labels})
		}
		b.series[i].Samples = append(b.series[i].Samples, prompb.Sample{Timestamp: t.UnixMilli(), Value: s.v})
	}
}

func (b *dtBatch) samples() int {
	n := 0
	for _, s := range b.series {
		n += len(s.Samples)
	}
	return n
}

// body is the snappy-compressed remote write 1.0 request.
func (b *dtBatch) body() ([]byte, error) {
	raw, err := (&prompb.WriteRequest{Timeseries: b.series}).Marshal()
	if err != nil {
		return nil, err
	}
	return snappy.Encode(nil, raw), nil
}
