package storage

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/annotations"
)

// The label cache answers label names and values requests as the DB's own
// querier does, so a dashboard asking for its variables again gets them
// without the work. It has two parts, each its own type:
//
//   - blockCache (blockcache.go): the merged answer of the persisted blocks
//     a range covers. Blocks never change, so an answer holds for as long as
//     its blocks exist; the key names them.
//   - headCache (headcache.go): the head's answer, kept only while it
//     provably holds. It rests on the order of calls inside upstream's head
//     (headgen.go), pinned by TestUpstreamHeadHooksInSync. Options.NoHeadLabelCache
//     (--no-storage.label-cache.head) turns it off: the head then answers
//     every request itself.
//
// labelQuerier merges the two as the DB's querier does (view mirrors
// tsdb.DB.Querier's choice of blocks and head, pinned by
// TestUpstreamQuerierInSync). A request with a limit, or over out-of-order
// data, goes to the DB's querier. Every answer handed out is the caller's
// own: the caches keep their copy and hand out another.

// labelCacheBytes bounds each part of the cache; when one is full it starts
// over.
const labelCacheBytes = 16 << 20

// labelCacheMetrics count the lookups each part answered and could not.
type labelCacheMetrics struct {
	hits, misses *prometheus.CounterVec
}

func newLabelCacheMetrics(reg prometheus.Registerer) labelCacheMetrics {
	m := labelCacheMetrics{
		hits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "miniprom_tsdb_label_cache_hits_total",
			Help: "Label name and value lookups answered from the cache, by part: blocks (persisted blocks' merged answers) or head (the head's answers while its series stay the same, or its sorted values).",
		}, []string{"part"}),
		misses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "miniprom_tsdb_label_cache_misses_total",
			Help: "Label name and value lookups the cache could not answer, by part (blocks or head).",
		}, []string{"part"}),
	}
	if reg != nil {
		reg.MustRegister(m.hits, m.misses)
	}
	return m
}

// answers is a bounded map of cached answers; when full it starts over
// (keys of compacted or expired blocks linger until then). Its values are
// shared by every get: the cache types around it copy what they hand out.
type answers[E any] struct {
	mu      sync.Mutex
	entries map[string]E
	bytes   int64
	max     int64
	size    func(key string, e E) int64 // what the key and e point to
	slot    int64                       // what an entry holds in the map
}

// newAnswers bounds the answers to max bytes, each counted as what size
// gives plus its slot in the map: the key's header and the value, twice,
// as a map's table has up to half its slots free after it grows.
func newAnswers[E any](max int64, size func(string, E) int64) *answers[E] {
	var e E
	return &answers[E]{entries: map[string]E{}, max: max, size: size, slot: 2 * (16 + int64(unsafe.Sizeof(e)))}
}

func (a *answers[E]) get(key string) (E, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.entries[key]
	return e, ok
}

// put keeps e, which no one may modify afterwards. An entry over a quarter
// of the budget is not kept.
func (a *answers[E]) put(key string, e E) {
	size := a.size(key, e) + a.slot
	a.mu.Lock()
	defer a.mu.Unlock()
	if size > a.max/4 {
		return
	}
	if old, ok := a.entries[key]; ok {
		a.bytes -= a.size(key, old) + a.slot
	}
	if a.bytes+size > a.max {
		a.entries, a.bytes = map[string]E{}, 0
	}
	a.entries[key] = e
	a.bytes += size
}

// stringsSize is about what a list of strings holds: each string and its
// header.
func stringsSize(vals []string) int64 {
	var size int64
	for _, v := range vals {
		size += int64(len(v)) + 16
	}
	return size
}

// labelQuerier is the DB's querier with label lookups served through the
// cache. Select goes to the DB's own querier, opened on first use.
type labelQuerier struct {
	db         *tsdb.DB
	blocks     *blockCache
	head       *headCache // nil: the head answers itself
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

// LabelValues is the DB's answer; the caller owns the slice.
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

// LabelNames is the DB's answer; the caller owns the slice.
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
// them); values are then compared instead (headCache.sorted), and names, a
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
// overlapping the range and of the head, sorted. The answer is the
// caller's.
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
		vals, w, err := q.blocks.labels(blocks, q.mint, q.maxt, l)
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
	switch len(parts) {
	case 0:
		return nil, ws, nil
	case 1:
		return parts[0], ws, nil
	default:
		return mergeSorted(parts[0], parts[1]), ws, nil
	}
}

// headLabels is the head's sorted answer for the range, from the head
// cache when there is one; the caller owns it.
func (q *labelQuerier) headLabels(ctx context.Context, head *tsdb.Head, l lookup) ([]string, annotations.Annotations, error) {
	if q.head != nil {
		return q.head.labels(ctx, head, q.mint, q.maxt, l)
	}
	hq, err := tsdb.NewBlockQuerier(tsdb.NewRangeHead(head, q.mint, q.maxt), q.mint, q.maxt)
	if err != nil {
		return nil, nil, err
	}
	defer hq.Close()
	return l.ask(hq, nil)
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
// overlapping it, and whether the head takes part. It mirrors
// tsdb.DB.Querier (pinned by TestUpstreamQuerierInSync). While the head is
// being truncated after a compaction (it waits for queries reading what it
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

// mergeSorted is the sorted union of two sorted lists, as upstream's merge
// querier makes it, in a new slice.
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
