package querycache

import (
	"context"
	"slices"

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
// Each shard's evaluation selects the series whose group (the hash the
// engine groups them by) falls in the shard, through the querier the whole
// evaluation would get. A group's series are then all in one shard, in the
// order the whole evaluation reads them (a shard's series are a
// subsequence of the whole's), so the engine adds each group's values in
// the same order and gets the same bits; a group never meets another
// shard's series. The shards' series are disjoint, so stitching them is
// sorting them, as the engine sorts a range query's answer.
//
// Unlike splitting the range in time, where every sub-range reads every
// series, a shard reads only its own series' samples: this is what makes
// a cold range query over many series faster on more cores, also when its
// samples lie in a small part of its range.
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

// shardQueryable gives a shard's evaluation the series of the shard's
// groups from the queriers q gives.
type shardQueryable struct {
	storage.Queryable
	plan  *shardPlan
	shard uint64
	of    uint64

	bySeriesForTest bool // shard by the whole label set, which the property test must notice
}

func (s shardQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := s.Queryable.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return shardQuerier{Querier: q, s: s}, nil
}

type shardQuerier struct {
	storage.Querier
	s shardQueryable
}

func (q shardQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	return &shardSeriesSet{SeriesSet: q.Querier.Select(ctx, sortSeries, hints, ms...), s: q.s}
}

// shardSeriesSet is the series of a select whose groups fall in the shard,
// in the select's order.
type shardSeriesSet struct {
	storage.SeriesSet
	s   shardQueryable
	buf []byte
}

func (ss *shardSeriesSet) Next() bool {
	for ss.SeriesSet.Next() {
		lset := ss.SeriesSet.At().Labels()
		var h uint64
		switch {
		case ss.s.bySeriesForTest:
			h = lset.Hash()
		case ss.s.plan.without:
			// As the engine's generateGroupingKey.
			h, ss.buf = lset.HashWithoutLabels(ss.buf, ss.s.plan.grouping...)
		default:
			h, ss.buf = lset.HashForLabels(ss.buf, ss.s.plan.grouping...)
		}
		if h%ss.s.of == ss.s.shard {
			return true
		}
	}
	return false
}
