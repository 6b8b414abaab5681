package storage

import (
	"context"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/annotations"
)

// headCache keeps the head's label names and values answers while they
// provably hold. The head changes, so each answer is kept with what shows
// it is still true:
//
//   - Under matchers on other labels the head answers from its postings
//     (lookup.fromPostings), and that answer is kept with the number of the
//     head's set of series it was computed from (headGen, headgen.go).
//   - Otherwise it answers from its lists of names and values: names are
//     asked every time (a handful), and a label's values, handed out in the
//     order the head holds them, are kept beside their sorted copy, which
//     is reused while the head's list is the same element by element
//     (sorting took a third of a label values request at 100k series).
//
// Both rest on the order of calls inside upstream's head, pinned by
// TestUpstreamHeadHooksInSync.
type headCache struct {
	gens         *headGen
	answers      *answers[headEntry]
	hits, misses prometheus.Counter
}

// headEntry is a kept answer, out. Either in is the unsorted list out was
// sorted from, or gen the number of the head's set of series out was
// computed from.
type headEntry struct {
	in, out []string
	gen     uint64
}

func newHeadCache(m labelCacheMetrics, gens *headGen) *headCache {
	return &headCache{
		gens: gens,
		answers: newAnswers(labelCacheBytes, func(key string, e headEntry) int64 {
			// in shares its strings with out: a header each.
			return int64(len(key)) + int64(len(e.in))*16 + stringsSize(e.out)
		}),
		hits:   m.hits.WithLabelValues("head"),
		misses: m.misses.WithLabelValues("head"),
	}
}

func (c *headCache) count(hit bool) {
	if hit {
		c.hits.Inc()
	} else {
		c.misses.Inc()
	}
}

// labels is the head's sorted answer over [mint, maxt]. The caller owns
// it: a hit is a copy of the kept answer.
func (c *headCache) labels(ctx context.Context, head *tsdb.Head, mint, maxt int64, l lookup) ([]string, annotations.Annotations, error) {
	rh := tsdb.NewRangeHead(head, mint, maxt)
	if l.fromPostings() {
		return c.byGen(ctx, head, rh, mint, maxt, l)
	}
	if l.unsorted == nil {
		hq, err := tsdb.NewBlockQuerier(rh, mint, maxt)
		if err != nil {
			return nil, nil, err
		}
		defer hq.Close()
		return l.ask(hq, nil)
	}
	ir, err := rh.Index()
	if err != nil {
		return nil, nil, err
	}
	defer ir.Close()
	vals, err := l.unsorted(ir)
	if err != nil {
		return nil, nil, err
	}
	return c.sorted(l.key("head"), vals), nil, nil
}

// sorted is vals sorted: a copy of the kept one when the head's list under
// key is still vals. It takes vals (the head's index hands out a copy of
// its list) and the caller owns the answer.
func (c *headCache) sorted(key string, vals []string) []string {
	if e, ok := c.answers.get(key); ok && slices.Equal(e.in, vals) {
		c.count(true)
		return slices.Clone(e.out)
	}
	c.count(false)
	out := slices.Clone(vals)
	slices.Sort(out)
	c.answers.put(key, headEntry{in: vals, out: out})
	return slices.Clone(out)
}

// byGen answers from the cache while the head holds the same series as
// when the answer was computed. Where the range and the head overlap, the
// head's answer depends on its series alone, not on the range. The caller
// owns the answer.
func (c *headCache) byGen(ctx context.Context, head *tsdb.Head, rh *tsdb.RangeHead, mint, maxt int64, l lookup) ([]string, annotations.Annotations, error) {
	// The head's times only grow: overlapping before the computation (its
	// newest sample) and after it (its oldest) is overlapping throughout.
	overlaps := mint <= head.MaxTime()
	key := l.key("head@gen")
	n, settled := c.gens.settled(ctx, head)
	if overlaps && settled {
		if e, ok := c.answers.get(key); ok && e.gen == n {
			c.count(true)
			return slices.Clone(e.out), nil, nil
		}
	}
	hq, err := tsdb.NewBlockQuerier(rh, mint, maxt)
	if err != nil {
		return nil, nil, err
	}
	defer hq.Close()
	vals, ws, err := l.ask(hq, nil)
	if err != nil || !overlaps {
		return vals, ws, err
	}
	c.count(false)
	if len(ws) == 0 && settled && c.gens.n.Load() == n && maxt >= head.MinTime() {
		c.answers.put(key, headEntry{gen: n, out: slices.Clone(vals)})
	}
	return vals, ws, nil
}
