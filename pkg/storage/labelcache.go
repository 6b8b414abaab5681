package storage

import (
	"context"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/annotations"
)

// labelCache keeps the label names and values of the persisted blocks a
// query range covers, merged and sorted, so a dashboard asking for its
// variables again does not merge the same sorted lists of a day of 2h
// blocks on every load (Prometheus does; a head alone never had to). A
// block never changes once written, and a block's label values do not
// depend on the queried time range, so the merged answer of a set of
// blocks, a label and matchers holds for as long as those blocks exist:
// the key names the blocks, and compaction or retention changes it. The
// head, which does change, is asked every time and merged in.
type labelCache struct {
	mu      sync.Mutex
	entries map[string][]string
	bytes   int64
	max     int64

	hits, misses prometheus.Counter
}

// labelCacheBytes bounds the cache; when full it starts over.
const labelCacheBytes = 32 << 20

func newLabelCache(reg prometheus.Registerer) *labelCache {
	c := &labelCache{
		entries: map[string][]string{},
		max:     labelCacheBytes,
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "miniprom_tsdb_label_cache_hits_total",
			Help: "Label name and value lookups over persisted blocks answered from the cache.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "miniprom_tsdb_label_cache_misses_total",
			Help: "Label name and value lookups over persisted blocks that read the blocks.",
		}),
	}
	if reg != nil {
		reg.MustRegister(c.hits, c.misses)
	}
	return c
}

func (c *labelCache) get(key string) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.entries[key]
	if ok {
		c.hits.Inc()
	} else {
		c.misses.Inc()
	}
	return v, ok
}

func (c *labelCache) put(key string, vals []string) {
	size := int64(len(key))
	for _, v := range vals {
		size += int64(len(v)) + 16
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.max/4 {
		return
	}
	if c.bytes+size > c.max {
		// Keys of compacted or expired blocks linger until here.
		c.entries, c.bytes = map[string][]string{}, 0
	}
	c.entries[key] = vals
	c.bytes += size
}

// labelQuerier is the DB's querier with label lookups served through the
// cache. Select goes to the DB's own querier, opened on first use.
type labelQuerier struct {
	db         *tsdb.DB
	cache      *labelCache
	mint, maxt int64

	q   storage.Querier
	err error
}

func (q *labelQuerier) querier() (storage.Querier, error) {
	if q.q == nil && q.err == nil {
		q.q, q.err = q.db.Querier(q.mint, q.maxt)
	}
	return q.q, q.err
}

func (q *labelQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	dq, err := q.querier()
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	return dq.Select(ctx, sortSeries, hints, ms...)
}

func (q *labelQuerier) Close() error {
	if q.q != nil {
		return q.q.Close()
	}
	return nil
}

func (q *labelQuerier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.labels(ctx, "v"+name, hints, ms, func(lq storage.LabelQuerier, h *storage.LabelHints) ([]string, annotations.Annotations, error) {
		return lq.LabelValues(ctx, name, h, ms...)
	})
}

func (q *labelQuerier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.labels(ctx, "n", hints, ms, func(lq storage.LabelQuerier, h *storage.LabelHints) ([]string, annotations.Annotations, error) {
		return lq.LabelNames(ctx, h, ms...)
	})
}

// labels answers as the DB's merged querier does: the union of the blocks
// overlapping the range and of the head, sorted.
func (q *labelQuerier) labels(ctx context.Context, what string, hints *storage.LabelHints, ms []*labels.Matcher,
	ask func(storage.LabelQuerier, *storage.LabelHints) ([]string, annotations.Annotations, error),
) ([]string, annotations.Annotations, error) {
	head := q.db.Head()
	limited := hints != nil && hints.Limit > 0
	if limited || head.MinOOOTime() <= q.maxt && q.mint <= head.MaxOOOTime() {
		// With a limit each part may return any values of its own before
		// the merge cuts them; out-of-order data joins the head's answer
		// in ways only the DB's querier knows. Ask it.
		dq, err := q.querier()
		if err != nil {
			return nil, nil, err
		}
		return ask(dq, hints)
	}
	var blocks []*tsdb.Block
	for _, b := range q.db.Blocks() {
		if b.OverlapsClosedInterval(q.mint, q.maxt) {
			blocks = append(blocks, b)
		}
	}
	var parts [][]string
	var ws annotations.Annotations
	if len(blocks) > 0 {
		vals, w, err := q.blockLabels(blocks, what, ms, ask)
		if err != nil {
			// A block may have been compacted away since the list was
			// taken; the DB's querier holds its blocks while it reads.
			dq, err := q.querier()
			if err != nil {
				return nil, nil, err
			}
			return ask(dq, hints)
		}
		ws.Merge(w)
		parts = append(parts, vals)
	}
	if q.maxt >= head.MinTime() {
		hq, err := tsdb.NewBlockQuerier(tsdb.NewRangeHead(head, q.mint, q.maxt), q.mint, q.maxt)
		if err != nil {
			return nil, ws, err
		}
		vals, w, err := ask(hq, nil)
		ws.Merge(w)
		hq.Close()
		if err != nil {
			return nil, ws, err
		}
		parts = append(parts, vals)
	}
	var out []string
	switch len(parts) {
	case 0:
		return nil, ws, nil
	case 1:
		out = parts[0]
	default:
		out = mergeSorted(parts[0], parts[1])
	}
	return out, ws, nil
}

// blockLabels is the merged answer of blocks, from the cache when it has
// it. Answers with annotations are not cached.
func (q *labelQuerier) blockLabels(blocks []*tsdb.Block, what string, ms []*labels.Matcher,
	ask func(storage.LabelQuerier, *storage.LabelHints) ([]string, annotations.Annotations, error),
) ([]string, annotations.Annotations, error) {
	var key strings.Builder
	for _, b := range blocks {
		key.WriteString(b.Meta().ULID.String())
	}
	key.WriteString("\xff" + what)
	for _, m := range ms {
		key.WriteString("\xff" + m.String())
	}
	if vals, ok := q.cache.get(key.String()); ok {
		return vals, nil, nil
	}
	var merged []string
	var ws annotations.Annotations
	for i, b := range blocks {
		bq, err := tsdb.NewBlockQuerier(b, q.mint, q.maxt)
		if err != nil {
			return nil, ws, err
		}
		vals, w, err := ask(bq, nil)
		ws.Merge(w)
		bq.Close()
		if err != nil {
			return nil, ws, err
		}
		if i == 0 {
			merged = vals
		} else {
			merged = mergeSorted(merged, vals)
		}
	}
	if len(ws) == 0 {
		q.cache.put(key.String(), merged)
	}
	return merged, ws, nil
}

// mergeSorted is the sorted union of two sorted lists, as upstream's merge
// querier makes it.
func mergeSorted(a, b []string) []string {
	res := make([]string, 0, max(len(a), len(b))*10/9)
	for len(a) > 0 && len(b) > 0 {
		switch {
		case a[0] == b[0]:
			res = append(res, a[0])
			a, b = a[1:], b[1:]
		case a[0] < b[0]:
			res = append(res, a[0])
			a = a[1:]
		default:
			res = append(res, b[0])
			b = b[1:]
		}
	}
	return append(append(res, a...), b...)
}
