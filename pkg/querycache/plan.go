package querycache

import (
	"errors"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// plan says which samples a cacheable expression reads: at step t, those in
// [t+readFrom, t+readTo] (ms). maxStep, when not 0, is the longest query
// step (ms) at which the expression is cacheable (see its subqueries).
type plan struct {
	readFrom, readTo int64
	maxStep          int64
	shard            *shardPlan // how its series may be divided (shard.go), or nil
}

// errBypass marks an expression the cache does not prove safe.
var errBypass = errors.New("not cacheable")

// stableFunctions are the functions whose value at step t depends only on
// their arguments at t (and, for range functions, on the samples in a range
// fixed relative to t). time() and the date functions return t or a
// function of it. Experimental functions are left out until someone checks
// them, and so are start(), end(), range() and step(), which depend on the
// query's window. So are sort() and sort_desc(): the engine warns that they
// are ineffective in a range query only when it has more than one step, so
// a range's warnings are not those of its steps.
var stableFunctions = map[string]bool{
	"abs": true, "absent": true, "absent_over_time": true, "acos": true, "acosh": true,
	"asin": true, "asinh": true, "atan": true, "atanh": true, "avg_over_time": true,
	"ceil": true, "changes": true, "clamp": true, "clamp_max": true, "clamp_min": true,
	"cos": true, "cosh": true, "count_over_time": true, "days_in_month": true,
	"day_of_month": true, "day_of_week": true, "day_of_year": true, "deg": true,
	"delta": true, "deriv": true, "exp": true, "floor": true,
	"histogram_avg": true, "histogram_count": true, "histogram_sum": true,
	"histogram_stddev": true, "histogram_stdvar": true, "histogram_fraction": true,
	"histogram_quantile": true, "hour": true, "idelta": true, "increase": true,
	"irate": true, "label_replace": true, "label_join": true, "last_over_time": true,
	"ln": true, "log10": true, "log2": true, "max_over_time": true, "min_over_time": true,
	"minute": true, "month": true, "pi": true, "predict_linear": true,
	"present_over_time": true, "quantile_over_time": true, "rad": true, "rate": true,
	"resets": true, "round": true, "scalar": true, "sgn": true, "sin": true, "sinh": true,
	"sqrt": true, "stddev_over_time": true,
	"stdvar_over_time": true, "sum_over_time": true, "tan": true, "tanh": true,
	"time": true, "timestamp": true, "vector": true, "year": true,
}

// stableAggregations are the aggregation operators whose value at a step
// follows from the values at that step. topk and bottomk are left out: they
// break ties by the order of their input series, and that order can differ
// between evaluations of different ranges (it comes from map iteration
// after a binary operation or function, and from how many blocks the range
// spans), so a stitched answer could switch between tied series mid-range
// where an uncached one never does. limitk and limit_ratio are
// experimental.
var stableAggregations = map[parser.ItemType]bool{
	parser.SUM: true, parser.AVG: true, parser.COUNT: true, parser.MIN: true,
	parser.MAX: true, parser.GROUP: true, parser.STDDEV: true, parser.STDVAR: true,
	parser.COUNT_VALUES: true, parser.QUANTILE: true,
}

// planOf returns the plan of expr, or errBypass when the value at a step
// might depend on anything but that step's time and data: the window of the
// query (@ start()/end(), start(), step(), ...), an absolute time (@ 123),
// or experimental syntax. It allows what it knows and refuses the rest, so new PromQL
// features bypass the cache until they are added here.
func planOf(expr parser.Expr, lookback time.Duration) (plan, error) {
	ok := true
	var maxStep time.Duration
	parser.Inspect(expr, func(node parser.Node, path []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			if n.Timestamp != nil || n.StartOrEnd != 0 || n.OriginalOffsetExpr != nil || n.Anchored || n.Smoothed {
				ok = false
			}
		case *parser.MatrixSelector:
			if n.RangeExpr != nil {
				ok = false
			}
		case *parser.Call:
			if !stableFunctions[n.Func.Name] {
				ok = false
			}
		case *parser.SubqueryExpr:
			// Inner steps are aligned to multiples of the subquery's step,
			// not to the query's start, so an outer step's value does not
			// depend on the range asked for. A subquery without a step uses
			// the evaluation interval, which only a reload changes.
			if n.Timestamp != nil || n.StartOrEnd != 0 || n.OriginalOffsetExpr != nil || n.RangeExpr != nil || n.StepExpr != nil {
				ok = false
				break
			}
			// The engine evaluates a subquery at each of its steps from the
			// first step's window to the last's, also at those no step reads
			// when the windows leave gaps between them. Their annotations and
			// errors are the range's, and no evaluated piece of a stitched
			// answer sees those between two pieces. The windows of
			// consecutive steps meet when the step is at most the range; a
			// nested subquery's, when its parent's step is at most its range
			// (and the parent's steps meet).
			switch parent := enclosingSubquery(path); {
			case parent == nil:
				if maxStep == 0 || n.Range < maxStep {
					maxStep = n.Range
				}
			case parent.Step == 0 || parent.Step > n.Range:
				ok = false // a step-less parent's step is the evaluation interval
			}
		case *parser.AggregateExpr:
			if !stableAggregations[n.Op] {
				ok = false
			}
		case *parser.BinaryExpr:
			// fill() modifiers are experimental.
			if m := n.VectorMatching; m != nil && (m.FillValues.LHS != nil || m.FillValues.RHS != nil) {
				ok = false
			}
		case nil, *parser.UnaryExpr, *parser.ParenExpr,
			*parser.NumberLiteral, *parser.StringLiteral, parser.Expressions:
			// Walk ends each node's children with a nil.
		default:
			// Step-invariant wrappers, duration expressions and whatever
			// PromQL grows next.
			ok = false
		}
		if !ok {
			return errBypass
		}
		return nil
	})
	if !ok {
		return plan{}, errBypass
	}
	// The selectors' time ranges at a single step at t=0 are the offsets of
	// the window read at any step t, since nothing here pins a time.
	zero := time.UnixMilli(0)
	from, to := promql.FindMinMaxTime(&parser.EvalStmt{Expr: expr, Start: zero, End: zero, LookbackDelta: lookback})
	return plan{readFrom: from, readTo: to, maxStep: maxStep.Milliseconds(), shard: shardOf(expr)}, nil
}

// enclosingSubquery is the innermost subquery in path, or nil.
func enclosingSubquery(path []parser.Node) *parser.SubqueryExpr {
	for i := len(path) - 1; i >= 0; i-- {
		if sq, ok := path[i].(*parser.SubqueryExpr); ok {
			return sq
		}
	}
	return nil
}
