package api

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/stats"
)

// boundedParser checks a query's size before upstream's parser sees it. The
// API parses some queries itself (query_exemplars, parse_query,
// format_query), so it gets this parser too.
type boundedParser struct {
	parser.Parser
	limits QueryLimits
}

func (p boundedParser) ParseExpr(input string) (parser.Expr, error) {
	if err := p.limits.CheckSize(context.Background(), input); err != nil {
		return nil, err
	}
	return p.Parser.ParseExpr(input)
}

// limitedEngine puts QueryLimits in front of the upstream engine: size checks
// before parsing, a step pre-flight on the parsed query before the engine
// allocates anything, and a result budget after evaluation, before the
// response is encoded.
type limitedEngine struct {
	engine promql.QueryEngine
	parser parser.Parser
	limits QueryLimits
}

// LimitEngine wraps e with the limits l; p parses queries for the pre-flight.
func LimitEngine(e promql.QueryEngine, p parser.Parser, l QueryLimits) promql.QueryEngine {
	return &limitedEngine{engine: e, parser: p, limits: l}
}

func (e *limitedEngine) NewInstantQuery(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string, ts time.Time) (promql.Query, error) {
	if pre, err := e.preflight(ctx, qs, ts, ts, 0); pre != nil || err != nil {
		return pre, err
	}
	qry, err := e.engine.NewInstantQuery(ctx, q, opts, qs, ts)
	if err != nil {
		return nil, err
	}
	return &limitedQuery{Query: qry, limits: e.limits}, nil
}

func (e *limitedEngine) NewRangeQuery(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string, start, end time.Time, interval time.Duration) (promql.Query, error) {
	if pre, err := e.preflight(ctx, qs, start, end, interval); pre != nil || err != nil {
		return pre, err
	}
	qry, err := e.engine.NewRangeQuery(ctx, q, opts, qs, start, end, interval)
	if err != nil {
		return nil, err
	}
	return &limitedQuery{Query: qry, limits: e.limits}, nil
}

// preflight returns an error for a query too large to parse (the API answers
// 400), or a query that fails when executed for one too costly to evaluate
// (the API answers 422, as for too many samples). Both nil: go ahead.
func (e *limitedEngine) preflight(ctx context.Context, qs string, start, end time.Time, interval time.Duration) (promql.Query, error) {
	if err := e.limits.CheckSize(ctx, qs); err != nil {
		return nil, ctxError(ctx, err)
	}
	// Only subqueries add steps beyond the query's own, and a subquery is
	// written with a colon ([5m:1m], [5m:]). Without one, the steps are
	// counted without parsing (the engine parses the query anyway, and a
	// second parse is a few percent of a small query's cost), unless they
	// are too many: then a query that does not parse gets the parser's
	// error, as it would with a colon.
	var expr parser.Expr
	if strings.Contains(qs, ":") || e.limits.CheckSteps(nil, start, end, interval) != nil {
		var err error
		if expr, err = e.parser.ParseExpr(qs); err != nil {
			// The engine parses again and reports the error in its own words.
			return nil, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(ctx, err)
	}
	if err := e.limits.CheckSteps(expr, start, end, interval); err != nil {
		return failedQuery{qs: qs, err: err}, nil
	}
	return nil, nil
}

// ctxError turns a context's end into the engine's errors, which the API
// answers as a timeout (503) or a cancellation.
func ctxError(ctx context.Context, err error) error {
	switch ctx.Err() {
	case context.DeadlineExceeded:
		return promql.ErrQueryTimeout("query parsing")
	case context.Canceled:
		return promql.ErrQueryCanceled("query parsing")
	}
	return err
}

// limitedQuery enforces the result budget once the engine has evaluated.
type limitedQuery struct {
	promql.Query
	limits QueryLimits
}

func (q *limitedQuery) Exec(ctx context.Context) *promql.Result {
	res := q.Query.Exec(ctx)
	if res.Err != nil {
		return res
	}
	if err := q.limits.CheckResult(res.Value); err != nil {
		return &promql.Result{Err: err, Warnings: res.Warnings}
	}
	return res
}

// CheckResult refuses a result with more points than MaxResultPoints or
// whose JSON would be larger than MaxResponseBytes (estimated from the
// points, without encoding them). The estimate formats every value, which
// costs as much as a cached answer takes to find; so a first pass bounds
// each value's length from its exponent, and only a result that this bound
// puts over the budget is measured exactly. Both passes refuse the same
// results.
func (l QueryLimits) CheckResult(v parser.Value) error {
	if l.MaxResponseBytes <= 0 {
		return l.checkResult(v, false)
	}
	if l.checkResult(v, false) == nil {
		return nil
	}
	return l.checkResult(v, true)
}

// checkResult is one pass of CheckResult: with exact false, value lengths
// are bounded instead of measured.
func (l QueryLimits) checkResult(v parser.Value, exact bool) error {
	var points, bytes int64
	var buf []byte
	addSeries := func(lbls labels.Labels, floats []promql.FPoint, hists []promql.HPoint) {
		points += int64(len(floats) + len(hists))
		// {"metric":{"name":"value",...},"values":[...]},
		bytes += int64(lbls.ByteSize()) + 6*int64(lbls.Len()) + 32
		for _, p := range floats {
			// [1700000000.123,"<value>"],
			if exact {
				buf = strconv.AppendFloat(buf[:0], p.F, 'f', -1, 64)
				bytes += int64(len(buf)) + 20
			} else {
				bytes += floatLenBound(p.F) + 20
			}
		}
		for _, h := range hists {
			bytes += 100 + 60*int64(len(h.H.PositiveBuckets)+len(h.H.NegativeBuckets))
		}
	}
	switch v := v.(type) {
	case promql.Matrix:
		for _, s := range v {
			addSeries(s.Metric, s.Floats, s.Histograms)
			if err := l.overBudget(points, bytes); err != nil {
				return err
			}
		}
	case promql.Vector:
		for _, s := range v {
			var h []promql.HPoint
			if s.H != nil {
				h = []promql.HPoint{{H: s.H}}
			}
			addSeries(s.Metric, []promql.FPoint{{F: s.F}}, h)
			if err := l.overBudget(points, bytes); err != nil {
				return err
			}
		}
	}
	return l.overBudget(points, bytes)
}

// floatLenBound is at least len(strconv.AppendFloat(nil, f, 'f', -1, 64)):
// a sign, "0.", the zeros or digits the binary exponent allows (log10 2 <
// 0.30103), two for rounding, and the 17 significant digits the shortest
// form never exceeds.
func floatLenBound(f float64) int64 {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 4
	}
	_, e := math.Frexp(f)
	if e < 0 {
		e = -e
	}
	return 3 + int64(e)*30103/100000 + 2 + 17
}

func (l QueryLimits) overBudget(points, bytes int64) error {
	if l.MaxResultPoints > 0 && points > l.MaxResultPoints {
		return fmt.Errorf("query result has more than %d points (--query.max-result-points)", l.MaxResultPoints)
	}
	if l.MaxResponseBytes > 0 && bytes > l.MaxResponseBytes {
		return fmt.Errorf("query response would be larger than %d bytes (--query.max-response-bytes)", l.MaxResponseBytes)
	}
	return nil
}

// failedQuery is a query refused by the pre-flight: executing it returns the
// refusal, which the API answers with 422 like any evaluation error.
type failedQuery struct {
	qs  string
	err error
}

func (q failedQuery) Exec(context.Context) *promql.Result { return &promql.Result{Err: q.err} }
func (failedQuery) Close()                                {}
func (failedQuery) Statement() parser.Statement           { return nil }
func (failedQuery) Stats() *stats.Statistics              { return &stats.Statistics{} }
func (failedQuery) Cancel()                               {}
func (q failedQuery) String() string                      { return q.qs }
