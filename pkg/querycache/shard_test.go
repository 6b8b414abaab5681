package querycache

import (
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
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
