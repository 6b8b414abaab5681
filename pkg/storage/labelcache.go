package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/annotations"
)

// labelCache keeps label names and values answers, so a dashboard asking
// for its variables again gets them without the work, and always exactly
// what the DB's own querier answers.
//
// Persisted blocks: the merged and sorted answer of the blocks a range
// covers, so a day of 2h blocks is not merged again on every load
// (Prometheus does; a head alone never had to). A block never changes once
// written and its label values do not depend on the queried range, so the
// answer for a set of blocks, a label and matchers holds for as long as
// those blocks exist: the key names the blocks, and compaction or retention
// changes it.
//
// The head changes. Under matchers on other labels it answers from its
// postings, and that answer is kept with the number of the head's set of
// series it was computed from (headgen.go). Otherwise it answers from its
// lists of names and values: names are asked every time (a handful), and a
// label's values, handed out in the order the head holds them, are kept
// beside their sorted copy, which is reused while the head's list is the
// same element by element (sorting took a third of a label values request
// at 100k series).
type labelCache struct {
	mu      sync.Mutex
	entries map[string]labelEntry
	bytes   int64
	max     int64

	hits, misses prometheus.Counter
}

// labelEntry is a cached answer, out. For the head, either in is the
// unsorted list out was sorted from, or gen the number of the head's set of
// series out was computed from (headgen.go).
type labelEntry struct {
	in, out []string
	gen     uint64
}

// labelCacheBytes bounds the cache; when full it starts over.
const labelCacheBytes = 32 << 20

func newLabelCache(reg prometheus.Registerer) *labelCache {
	c := &labelCache{
		entries: map[string]labelEntry{},
		max:     labelCacheBytes,
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "miniprom_tsdb_label_cache_hits_total",
			Help: "Label name and value lookups answered from the cache (persisted blocks' merged answers, the head's answers while its series stay the same, or its sorted values).",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "miniprom_tsdb_label_cache_misses_total",
			Help: "Label name and value lookups the cache could not answer.",
		}),
	}
	if reg != nil {
		reg.MustRegister(c.hits, c.misses)
	}
	return c
}

func (c *labelCache) get(key string) (labelEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	return e, ok
}

func (c *labelCache) count(hit bool) {
	if hit {
		c.hits.Inc()
	} else {
		c.misses.Inc()
	}
}

func (c *labelCache) put(key string, e labelEntry) {
	size := entrySize(key, e)
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.max/4 {
		return
	}
	if old, ok := c.entries[key]; ok {
		c.bytes -= entrySize(key, old)
	}
	if c.bytes+size > c.max {
		// Keys of compacted or expired blocks linger until here.
		c.entries, c.bytes = map[string]labelEntry{}, 0
	}
	c.entries[key] = e
	c.bytes += size
}

// entrySize is about what an entry holds: its strings once (in shares
// them with out) and a header for each.
func entrySize(key string, e labelEntry) int64 {
	size := int64(len(key)) + int64(len(e.in))*16
	for _, v := range e.out {
		size += int64(len(v)) + 16
	}
	return size
}

// sortedHead is vals sorted: the cached copy when the head's list under key
// is still vals. The answer is shared and must not be modified (upstream's
// API sorts it again, which reads an ordered slice without writing it).
func (c *labelCache) sortedHead(key string, vals []string) []string {
	if e, ok := c.get(key); ok && slices.Equal(e.in, vals) {
		c.count(true)
		return e.out
	}
	c.count(false)
	out := slices.Clone(vals)
	slices.Sort(out)
	c.put(key, labelEntry{in: vals, out: out})
	return out
}

// labelQuerier is the DB's querier with label lookups served through the
// cache. Select goes to the DB's own querier, opened on first use.
type labelQuerier struct {
	db         *tsdb.DB
	cache      *labelCache
	gens       *headGen
	mint, maxt int64

	q   storage.Querier
	err error

	// afterView, in tests, runs between looking at what the DB holds and
	// reading it.
	afterView func()
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

// SearchLabelNames and SearchLabelValues are the DB's querier's: upstream's
// search API (--enable-feature=search-api) answers only from a
// storage.Searcher, which the DB's querier always is.
func (q *labelQuerier) SearchLabelNames(ctx context.Context, hints *storage.SearchHints, ms ...*labels.Matcher) storage.SearchResultSet {
	s, err := q.searcher()
	if err != nil {
		return storage.ErrSearchResultSet(err)
	}
	return s.SearchLabelNames(ctx, hints, ms...)
}

func (q *labelQuerier) SearchLabelValues(ctx context.Context, name string, hints *storage.SearchHints, ms ...*labels.Matcher) storage.SearchResultSet {
	s, err := q.searcher()
	if err != nil {
		return storage.ErrSearchResultSet(err)
	}
	return s.SearchLabelValues(ctx, name, hints, ms...)
}

func (q *labelQuerier) searcher() (storage.Searcher, error) {
	dq, err := q.querier()
	if err != nil {
		return nil, err
	}
	s, ok := dq.(storage.Searcher)
	if !ok {
		return nil, fmt.Errorf("search not supported by the DB's querier %T", dq)
	}
	return s, nil
}

func (q *labelQuerier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.labels(ctx, hints, lookup{
		values: true, name: name, ms: ms,
		ask: func(lq storage.LabelQuerier, h *storage.LabelHints) ([]string, annotations.Annotations, error) {
			return lq.LabelValues(ctx, name, h, ms...)
		},
		unsorted: func(ir tsdb.IndexReader) ([]string, error) {
			return ir.LabelValues(ctx, name, nil, ms...)
		},
	})
}

func (q *labelQuerier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.labels(ctx, hints, lookup{
		ms: ms,
		ask: func(lq storage.LabelQuerier, h *storage.LabelHints) ([]string, annotations.Annotations, error) {
			return lq.LabelNames(ctx, h, ms...)
		},
	})
}

// lookup is one label names or label values request.
type lookup struct {
	values bool   // label values, not names
	name   string // the label whose values are asked
	ms     []*labels.Matcher
	// ask asks a querier.
	ask func(storage.LabelQuerier, *storage.LabelHints) ([]string, annotations.Annotations, error)
	// unsorted asks the head's index for values in the head's own order;
	// nil for names, which come from a map in no order worth remembering.
	unsorted func(tsdb.IndexReader) ([]string, error)
}

// key names the lookup over what it covers (block ULIDs or the head).
func (l lookup) key(over string) string {
	var key strings.Builder
	what := "n"
	if l.values {
		what = "v" + l.name
	}
	key.WriteString(over + "\xff" + what)
	for _, m := range l.ms {
		key.WriteString("\xff" + m.String())
	}
	return key.String()
}

// fromPostings reports whether the head answers from its postings lists
// alone: label names under matchers, and label values under a matcher on
// another label. Without, it answers from its lists of names and values,
// which a deletion updates after the postings (so headGen cannot vouch for
// them); values are then compared instead (sortedHead), and names, a
// handful, asked every time.
func (l lookup) fromPostings() bool {
	if !l.values {
		return len(l.ms) > 0
	}
	for _, m := range l.ms {
		if m.Name != l.name {
			return true
		}
	}
	return false
}

// labels answers as the DB's merged querier does: the union of the blocks
// overlapping the range and of the head, sorted.
func (q *labelQuerier) labels(ctx context.Context, hints *storage.LabelHints, l lookup) ([]string, annotations.Annotations, error) {
	head := q.db.Head()
	limited := hints != nil && hints.Limit > 0
	if limited || head.MinOOOTime() <= q.maxt && q.mint <= head.MaxOOOTime() {
		// With a limit each part may return any values of its own before
		// the merge cuts them; out-of-order data joins the head's answer
		// in ways only the DB's querier knows. Ask it.
		return q.askDB(l.ask, hints)
	}
	blocks, withHead := q.view(head)
	if q.afterView != nil {
		q.afterView()
	}
	var parts [][]string
	var ws annotations.Annotations
	if len(blocks) > 0 {
		vals, w, err := q.blockLabels(blocks, l)
		if err != nil {
			// A block may have been compacted away since the list was
			// taken; the DB's querier holds its blocks while it reads.
			return q.askDB(l.ask, hints)
		}
		ws.Merge(w)
		parts = append(parts, vals)
	}
	if withHead {
		vals, w, err := q.headLabels(ctx, head, l)
		ws.Merge(w)
		if err != nil {
			return nil, ws, err
		}
		parts = append(parts, vals)
	}
	// The DB's querier takes its blocks and its head together, and a
	// truncation waits for it. Here a compaction may have moved series from
	// the head into a new block, dropping them from the head, after the
	// blocks were listed: the answer would miss them. So the parts must
	// still be what the DB's querier would merge.
	if again, headAgain := q.view(head); headAgain != withHead || !sameBlocks(blocks, again) {
		return q.askDB(l.ask, hints)
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

// askDB asks the DB's own querier.
func (q *labelQuerier) askDB(ask func(storage.LabelQuerier, *storage.LabelHints) ([]string, annotations.Annotations, error), hints *storage.LabelHints) ([]string, annotations.Annotations, error) {
	dq, err := q.querier()
	if err != nil {
		return nil, nil, err
	}
	return ask(dq, hints)
}

// view is what the DB's querier would merge for the range now: the blocks
// overlapping it, and whether the head takes part. While the head is being
// truncated after a compaction (it waits for queries reading what it
// drops), the DB's querier leaves it out of a range wholly before the
// truncation point, which the new block answers for
// (Head.IsQuerierCollidingWithTruncation); the head answers with all its
// series whatever their times, so keeping it would add the later ones. The
// head is looked at before the blocks are listed: a truncation starts only
// once its block is listed.
func (q *labelQuerier) view(head *tsdb.Head) ([]*tsdb.Block, bool) {
	withHead := q.maxt >= head.MinTime()
	if withHead {
		if drop, reopen, _ := head.IsQuerierCollidingWithTruncation(q.mint, q.maxt); drop && !reopen {
			withHead = false
		}
	}
	var blocks []*tsdb.Block
	for _, b := range q.db.Blocks() {
		if b.OverlapsClosedInterval(q.mint, q.maxt) {
			blocks = append(blocks, b)
		}
	}
	return blocks, withHead
}

func sameBlocks(a, b []*tsdb.Block) bool {
	return slices.EqualFunc(a, b, func(x, y *tsdb.Block) bool { return x.Meta().ULID == y.Meta().ULID })
}

// headLabels is the head's sorted answer for the range.
func (q *labelQuerier) headLabels(ctx context.Context, head *tsdb.Head, l lookup) ([]string, annotations.Annotations, error) {
	rh := tsdb.NewRangeHead(head, q.mint, q.maxt)
	if l.fromPostings() {
		return q.headByGen(ctx, head, rh, l)
	}
	if l.unsorted == nil {
		hq, err := tsdb.NewBlockQuerier(rh, q.mint, q.maxt)
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
	return q.cache.sortedHead(l.key("head"), vals), nil, nil
}

// headByGen answers from the cache while the head holds the same series
// as when the answer was computed. Where the range and the head overlap,
// the head's answer depends on its series alone, not on the range.
func (q *labelQuerier) headByGen(ctx context.Context, head *tsdb.Head, rh *tsdb.RangeHead, l lookup) ([]string, annotations.Annotations, error) {
	// The head's times only grow: overlapping before the computation (its
	// newest sample) and after it (its oldest) is overlapping throughout.
	overlaps := q.mint <= head.MaxTime()
	key := l.key("head@gen")
	n, settled := q.gens.settled(ctx, head)
	if overlaps && settled {
		if e, ok := q.cache.get(key); ok && e.gen == n {
			q.cache.count(true)
			return e.out, nil, nil
		}
	}
	hq, err := tsdb.NewBlockQuerier(rh, q.mint, q.maxt)
	if err != nil {
		return nil, nil, err
	}
	defer hq.Close()
	vals, ws, err := l.ask(hq, nil)
	if err != nil || !overlaps {
		return vals, ws, err
	}
	q.cache.count(false)
	if len(ws) == 0 && settled && q.gens.n.Load() == n && q.maxt >= head.MinTime() {
		q.cache.put(key, labelEntry{gen: n, out: vals})
	}
	return vals, ws, nil
}

// blockLabels is the merged answer of blocks, from the cache when it has
// it. Answers with annotations are not cached.
func (q *labelQuerier) blockLabels(blocks []*tsdb.Block, l lookup) ([]string, annotations.Annotations, error) {
	var ulids strings.Builder
	for _, b := range blocks {
		ulids.WriteString(b.Meta().ULID.String())
	}
	key := l.key(ulids.String())
	if e, ok := q.cache.get(key); ok {
		q.cache.count(true)
		return e.out, nil, nil
	}
	q.cache.count(false)
	var merged []string
	var ws annotations.Annotations
	for i, b := range blocks {
		bq, err := tsdb.NewBlockQuerier(b, q.mint, q.maxt)
		if err != nil {
			return nil, ws, err
		}
		vals, w, err := l.ask(bq, nil)
		ws.Merge(w)
		if err == nil {
			// A block's strings point into its memory-mapped index,
			// unmapped when the block goes; the DB's querier keeps its
			// blocks open until closed, the cache keeps none. Copied
			// while this querier holds the block open.
			for i, v := range vals {
				vals[i] = strings.Clone(v)
			}
		}
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
		q.cache.put(key, labelEntry{out: merged})
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
