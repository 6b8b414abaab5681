package querycache

import (
	"slices"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// extent is the cached answer of one query for its steps in [start, end]
// (ms, on the query's step grid), evaluated in epoch (epoch.go). Its matrix
// is never modified: answers share its points.
type extent struct {
	start, end int64
	epoch      epoch
	matrix     promql.Matrix
	// infos are the texts of at least the annotations of the steps in
	// the extent (all informational; see engine.go).
	infos []string
	bytes int64 // what the extent holds, with its key and store entry
}

// entryBytes is what a cached extent holds besides its points, labels and
// texts: the extent, its slices' headers, the store's entry, list element
// and map slot, each rounded up to the allocator's size class.
const entryBytes = 320

// size is about what ext holds in the heap, its key aside.
func (ext *extent) size() int64 {
	n := entryBytes + sizeOf(ext.matrix)
	for _, k := range ext.infos {
		n += int64(unsafe.Sizeof(k)) + int64(len(k))
	}
	return n
}

// ownedCopy copies the points of m, histograms included: the engine hands
// the slices of a closed query to the next one, and may reuse the
// histograms in them.
func ownedCopy(m promql.Matrix) promql.Matrix {
	out := make(promql.Matrix, len(m))
	for i, s := range m {
		out[i] = promql.Series{Metric: s.Metric, DropName: s.DropName}
		if len(s.Floats) > 0 {
			out[i].Floats = slices.Clone(s.Floats)
		}
		if len(s.Histograms) > 0 {
			out[i].Histograms = slices.Clone(s.Histograms)
		}
	}
	return ownHistograms(out)
}

// ownHistograms gives m, whose points are copies already (ownedCopy's,
// within's), its own copies of their histograms, which the engine may
// reuse.
func ownHistograms(m promql.Matrix) promql.Matrix {
	for _, s := range m {
		for j, p := range s.Histograms {
			s.Histograms[j].H = p.H.Copy()
		}
	}
	return m
}

// within returns the series of m restricted to steps in [from, to], with
// compact copies of their points (histograms shared), dropping series left
// without points, as the engine drops them.
func within(m promql.Matrix, from, to int64) promql.Matrix {
	var out promql.Matrix
	for _, s := range m {
		fs := pointsWithin(s.Floats, from, to, func(p promql.FPoint) int64 { return p.T })
		hs := pointsWithin(s.Histograms, from, to, func(p promql.HPoint) int64 { return p.T })
		if len(fs) == 0 && len(hs) == 0 {
			continue
		}
		out = append(out, promql.Series{Metric: s.Metric, Floats: slices.Clip(slices.Clone(fs)), Histograms: slices.Clip(slices.Clone(hs)), DropName: s.DropName})
	}
	return out
}

func pointsWithin[P any](ps []P, from, to int64, ts func(P) int64) []P {
	i, _ := slices.BinarySearchFunc(ps, from, func(p P, t int64) int { return cmp64(ts(p), t) })
	j, _ := slices.BinarySearchFunc(ps, to+1, func(p P, t int64) int { return cmp64(ts(p), t) })
	if i >= j {
		return nil
	}
	return ps[i:j]
}

func cmp64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// stitch joins matrices that answer consecutive, disjoint step ranges, given
// in time order, into one: series with the same labels become one series, as
// the engine merges them across steps, and the result is sorted by labels, as
// the engine sorts a range query's result.
func stitch(parts ...promql.Matrix) promql.Matrix {
	if len(parts) == 1 {
		return parts[0]
	}
	index := map[string]int{}
	var out promql.Matrix
	var buf []byte
	for _, part := range parts {
		for _, s := range part {
			buf = s.Metric.Bytes(buf)
			i, ok := index[string(buf)]
			if !ok {
				i = len(out)
				index[string(buf)] = i
				out = append(out, promql.Series{Metric: s.Metric, DropName: s.DropName})
			}
			out[i].Floats = append(out[i].Floats, s.Floats...)
			out[i].Histograms = append(out[i].Histograms, s.Histograms...)
		}
	}
	slices.SortFunc(out, func(a, b promql.Series) int { return labels.Compare(a.Metric, b.Metric) })
	return out
}

// sizeOf estimates the memory held by m.
func sizeOf(m promql.Matrix) int64 {
	n := int64(unsafe.Sizeof(promql.Series{})) * int64(len(m))
	for _, s := range m {
		n += int64(s.Metric.ByteSize())
		n += int64(len(s.Floats)) * int64(unsafe.Sizeof(promql.FPoint{}))
		for _, p := range s.Histograms {
			n += int64(unsafe.Sizeof(promql.HPoint{})) + histogramSize(p)
		}
	}
	return n
}

func histogramSize(p promql.HPoint) int64 {
	h := p.H
	if h == nil {
		return 0
	}
	const fixed = 128 // the FloatHistogram struct and slice headers
	return fixed + 8*int64(len(h.PositiveBuckets)+len(h.NegativeBuckets)+len(h.CustomValues)) +
		8*int64(len(h.PositiveSpans)+len(h.NegativeSpans))
}
