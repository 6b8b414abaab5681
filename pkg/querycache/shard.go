package querycache

import (
	"context"
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
)

// A shard plan says how a range query's series may be divided between
// concurrent evaluations of its whole range, as Mimir's and Thanos's query
// frontends shard aggregations, in the one case where the answer is
// provably the engine's own, bit for bit: an aggregation by groups over one
// selector whose series keep the labels that group them.
//
// Each shard evaluates the whole range through the querier the whole
// evaluation would get, and keeps the series of its groups (by the hash
// the engine groups them by; see shardSet). A group's
// series are then all in one shard, in the order the whole evaluation
// reads them (a shard's series are a subsequence of the whole's), so the
// engine adds each group's values in the same order and gets the same
// bits; a group never meets another shard's series. The shards' series are disjoint, so stitching them is
// sorting them, as the engine sorts a range query's answer.
//
// Unlike a split in time, whose sub-ranges do unequal work when the
// samples lie in a small part of the range, shards divide the series: the
// SplitEngine shards a query that may be sharded when the storage's data
// starts late in its range (see dataStartsLate), and splits it in time
// otherwise.
type shardPlan struct {
	grouping []string // sorted, as the engine sorts them
	without  bool
}

// shardAggregations are the aggregations whose groups' values depend only
// on the group's series. topk, bottomk and the limits also order their
// answer by their input; quantile and count_values take parameters the
// shards would each evaluate.
var shardAggregations = map[parser.ItemType]bool{
	parser.SUM: true, parser.AVG: true, parser.COUNT: true, parser.MIN: true,
	parser.MAX: true, parser.GROUP: true, parser.STDDEV: true, parser.STDVAR: true,
}

// labelKeeping are the range functions whose output series has the
// labels of its input series, less at most the metric name, with number
// literals for their other arguments. The engine evaluates them over the
// series of their selector in the order the select gave them, as it does a
// selector and a negation. Instant functions and binary operations are
// left out: the engine gathers their output series in a map, so their
// order, and a sum's last bits, change from one evaluation to the next,
// and a shard's order need not be one the whole evaluation ever has.
var labelKeeping = map[string]bool{
	"rate": true, "irate": true, "increase": true, "delta": true, "idelta": true, "deriv": true,
	"resets": true, "changes": true, "avg_over_time": true, "min_over_time": true,
	"max_over_time": true, "sum_over_time": true, "count_over_time": true, "last_over_time": true,
	"present_over_time": true, "stddev_over_time": true, "stdvar_over_time": true,
	"quantile_over_time": true, "predict_linear": true,
}

// shardOf returns the shard plan of a range query's expression, or nil
// when its series may not be divided.
func shardOf(expr parser.Expr) *shardPlan {
	agg, ok := unparen(expr).(*parser.AggregateExpr)
	if !ok || !shardAggregations[agg.Op] || agg.Param != nil {
		return nil
	}
	if !agg.Without && (len(agg.Grouping) == 0 || slices.Contains(agg.Grouping, labels.MetricName)) {
		// One group; or grouped by a name the inner expression may drop.
		return nil
	}
	if selectors(agg.Expr) != 1 {
		return nil
	}
	grouping := slices.Clone(agg.Grouping)
	slices.Sort(grouping)
	return &shardPlan{grouping: grouping, without: agg.Without}
}

func unparen(e parser.Expr) parser.Expr {
	for {
		p, ok := e.(*parser.ParenExpr)
		if !ok {
			return e
		}
		e = p.Expr
	}
}

// selectors is how many selectors e reads when each of its series keeps its
// labels (less the metric name) and its place through e, or 0 when one
// might not.
func selectors(e parser.Expr) int {
	switch n := unparen(e).(type) {
	case *parser.VectorSelector:
		return 1
	case *parser.UnaryExpr:
		return selectors(n.Expr)
	case *parser.Call:
		if !labelKeeping[n.Func.Name] {
			return 0
		}
		found := 0
		for _, a := range n.Args {
			switch unparen(a).(type) {
			case *parser.NumberLiteral:
			case *parser.MatrixSelector:
				found++
			default:
				return 0
			}
		}
		return found
	}
	return 0
}

// shardSet divides a sharded query's groups between its n shards. Each
// shard evaluates through its own querier (a querier is not safe for
// concurrent use), and selects the query's one selector. The first select
// is also read once for the size of each group, and the groups are given
// out largest first, each to the shard with the fewest series so far, so
// that the shards evaluate about equal work however few groups there are.
// A group that appears later (a series appended since) goes to the shard
// its hash names. Every shard reads the same assignment, so a group is in
// exactly one shard whatever each select sees.
type shardSet struct {
	plan *shardPlan
	n    int

	bySeriesForTest bool // divide series, not groups, which the property test must notice

	once   sync.Once
	assign map[uint64]int // group hash → shard
}

func newShardSet(p *shardPlan, n int) *shardSet {
	return &shardSet{plan: p, n: n}
}

// shard is the queryable of shard i over q.
func (s *shardSet) shard(q storage.Queryable, i int) storage.Queryable {
	return storage.QueryableFunc(func(mint, maxt int64) (storage.Querier, error) {
		qr, err := q.Querier(mint, maxt)
		if err != nil {
			return nil, err
		}
		return shardQuerier{Querier: qr, set: s, i: i}, nil
	})
}

// group is the hash the engine groups a series by.
func (s *shardSet) group(lset labels.Labels, buf []byte) (uint64, []byte) {
	switch {
	case s.bySeriesForTest:
		return lset.Hash(), buf
	case s.plan.without:
		// As the engine's generateGroupingKey.
		return lset.HashWithoutLabels(buf, s.plan.grouping...)
	default:
		return lset.HashForLabels(buf, s.plan.grouping...)
	}
}

// divide assigns the groups of the series in ss to the shards.
func (s *shardSet) divide(ss storage.SeriesSet) {
	s.assign = map[uint64]int{}
	if s.bySeriesForTest {
		return
	}
	var groups []uint64
	size := map[uint64]int{}
	var buf []byte
	for ss.Next() {
		var h uint64
		h, buf = s.group(ss.At().Labels(), buf)
		if size[h] == 0 {
			groups = append(groups, h)
		}
		size[h]++
	}
	if ss.Err() != nil {
		return // the shards' own selects fail alike
	}
	slices.SortStableFunc(groups, func(a, b uint64) int { return size[b] - size[a] })
	load := make([]int, s.n)
	for _, h := range groups {
		least := 0
		for i := range load {
			if load[i] < load[least] {
				least = i
			}
		}
		s.assign[h] = least
		load[least] += size[h]
	}
}

func (s *shardSet) shardOf(h uint64) int {
	if i, ok := s.assign[h]; ok {
		return i
	}
	return int(h % uint64(s.n))
}

type shardQuerier struct {
	storage.Querier
	set *shardSet
	i   int
}

// Select returns the series of the shard's groups, in the order the
// select gave them.
func (q shardQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	q.set.once.Do(func() { q.set.divide(q.Querier.Select(ctx, sortSeries, hints, ms...)) })
	return &shardSeriesSet{SeriesSet: q.Querier.Select(ctx, sortSeries, hints, ms...), set: q.set, i: q.i}
}

type shardSeriesSet struct {
	storage.SeriesSet
	set *shardSet
	i   int
	buf []byte
}

func (ss *shardSeriesSet) Next() bool {
	for ss.SeriesSet.Next() {
		var h uint64
		h, ss.buf = ss.set.group(ss.SeriesSet.At().Labels(), ss.buf)
		if ss.set.shardOf(h) == ss.i {
			return true
		}
	}
	return false
}
