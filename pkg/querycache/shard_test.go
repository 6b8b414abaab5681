package querycache

import (
	"strconv"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/stretchr/testify/require"
)

func TestShardOf(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	for expr, want := range map[string]*shardPlan{
		`sum by (zone) (rate(x[1m]))`:                       {grouping: []string{"zone"}},
		`(avg by (b, a) (x{y="z"} offset 5m))`:              {grouping: []string{"a", "b"}},
		`max without (pod) (-x)`:                            {grouping: []string{"pod"}, without: true},
		`sum by (a) (abs(x))`:                               nil, // the engine orders its output in a map
		`sum by (a) (x * 2)`:                                nil, // so too
		`count without () (quantile_over_time(0.5, x[5m]))`: {grouping: []string{}, without: true},
		`stddev by (job) (predict_linear(x[1h], 60))`:       {grouping: []string{"job"}},
		`sum(rate(x[1m]))`:                                  nil, // one group
		`sum by () (x)`:                                     nil,
		`sum by (__name__) (rate(x[1m]))`:                   nil, // rate drops the name
		`topk by (a) (2, x)`:                                nil,
		`quantile by (a) (0.5, x)`:                          nil,
		`sum by (a) (x / y)`:                                nil, // two selectors
		`sum by (a) (label_replace(x, "a", "b", "c", "d"))`: nil,
		`sum by (a) (sum by (a, b) (x))`:                    nil,
		`sum by (a) (rate(x[5m:1m]))`:                       nil, // a subquery
		`sum by (a) (histogram_quantile(0.9, x))`:           nil,
		`sum by (a) (x * scalar(y))`:                        nil,
		`rate(x[1m])`:                                       nil,
	} {
		e, err := p.ParseExpr(expr)
		require.NoError(t, err, expr)
		require.Equal(t, want, shardOf(e), expr)
	}
}

// Groups are given out largest first, each to the shard with the fewest
// series so far; a group the first select did not see goes by its hash.
func TestShardSetDivides(t *testing.T) {
	var series []storage.Series
	sizes := map[string]int{"a": 5, "b": 3, "c": 2, "d": 2, "e": 1}
	for _, g := range []string{"e", "a", "b", "c", "d"} { // first appearance: e, a, b, c, d
		for i := range sizes[g] {
			series = append(series, storage.NewListSeries(labels.FromStrings("zone", g, "i", strconv.Itoa(i)), nil))
		}
	}
	s := newShardSet(&shardPlan{grouping: []string{"zone"}}, 2)
	s.divide(&listSet{series: series})
	shardOf := func(zone string) int {
		h, _ := s.group(labels.FromStrings("zone", zone, "i", "0"), nil)
		return s.shardOf(h)
	}
	// a (5) → 0; b (3) → 1; c (2) → 1; d (2) → 0 (5 vs 5: the first); e (1) → 1.
	require.Equal(t, map[string]int{"a": 0, "b": 1, "c": 1, "d": 0, "e": 1},
		map[string]int{"a": shardOf("a"), "b": shardOf("b"), "c": shardOf("c"), "d": shardOf("d"), "e": shardOf("e")})
	h, _ := s.group(labels.FromStrings("zone", "new"), nil)
	require.Equal(t, int(h%2), s.shardOf(h))
}

type listSet struct {
	series []storage.Series
	i      int
}

func (l *listSet) Next() bool                        { l.i++; return l.i <= len(l.series) }
func (l *listSet) At() storage.Series                { return l.series[l.i-1] }
func (l *listSet) Err() error                        { return nil }
func (l *listSet) Warnings() annotations.Annotations { return nil }
