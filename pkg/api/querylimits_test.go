package api

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"
)

func TestCheckSteps(t *testing.T) {
	l := QueryLimits{MaxSteps: 1000, DefaultSubqueryStep: time.Minute}
	now := time.Unix(1e9, 0)
	for _, tc := range []struct {
		name     string
		query    string
		start    time.Time
		interval time.Duration
		ok       bool
	}{
		{"no subquery", "rate(up[100y])", now, 0, true},
		{"subquery within", "max_over_time(up[998m:1m])", now, 0, true},
		{"subquery over", "max_over_time(up[1000m:1m])", now, 0, false},
		{"default step", "max_over_time(up[1000m:])", now, 0, false},
		{"100y at 1ms", "count_over_time(up[100y:1ms])", now, 0, false},
		{"overflowing span", "max_over_time(max_over_time(up[200y:1ms])[200y:1ms])", now, 0, false},
		{"range query steps", "up", now.Add(-1000 * time.Minute), time.Minute, false},
		{"range widens the subquery", "max_over_time(up[500m:1m])", now.Add(-500 * time.Minute), time.Hour, false},
		{"nested", "max_over_time(max_over_time(up[400m:1m])[400m:1m])", now, 0, false},
		{"in a binary expression", "up + max_over_time(up[2000m:1m])", now, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expr, err := parser.NewParser(parser.Options{}).ParseExpr(tc.query)
			require.NoError(t, err)
			err = l.CheckSteps(expr, tc.start, now, tc.interval)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, "--query.max-steps")
		})
	}
}

func TestCheckSize(t *testing.T) {
	l := QueryLimits{MaxLength: 100, MaxOperators: 4}
	ctx := context.Background()
	require.NoError(t, l.CheckSize(ctx, `sum(rate(up{job=~"a|b",x!="y"}[5m])) / 2`))
	require.ErrorContains(t, l.CheckSize(ctx, strings.Repeat("x", 101)), "--query.max-length")
	require.ErrorContains(t, l.CheckSize(ctx, "a or b or c or d or e or f"), "--query.max-operators")
	require.ErrorContains(t, l.CheckSize(ctx, "(((((a)))))"), "--query.max-operators")
	require.ErrorContains(t, l.CheckSize(ctx, "-(-(-(-1)))"), "--query.max-operators")
}

// TestParsingStopsWithTheRequest: a client that went away or a timeout that
// passed stops a query before it is parsed; upstream's engine parses
// regardless.
func TestParsingStopsWithTheRequest(t *testing.T) {
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 100, Timeout: time.Minute})
	e := LimitEngine(engine, parser.NewParser(parser.Options{}), DefaultQueryLimits())
	q := storage.QueryableFunc(func(int64, int64) (storage.Querier, error) { return storage.NoopQuerier(), nil })

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.NewInstantQuery(canceled, q, nil, "up", time.Now())
	var ce promql.ErrQueryCanceled
	require.True(t, errors.As(err, &ce), "got %v", err)

	expired, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	_, err = e.NewRangeQuery(expired, q, nil, "up", time.Now().Add(-time.Hour), time.Now(), time.Minute)
	var te promql.ErrQueryTimeout
	require.True(t, errors.As(err, &te), "got %v", err)
}

// FuzzQueryPreflight: the checks in front of the parser and the engine
// never panic, and a query they let through parses in bounded time.
func FuzzQueryPreflight(f *testing.F) {
	for _, s := range []string{
		"up", "count_over_time(up[100y:1ms])", "max_over_time(rate(up[1d:100ms])[1d:1s])",
		`sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) / ignoring(code) group_left sum(rate(x[5m]))`,
		"((((up))))", "-(-1)", "up @ start() offset -5m", `{"utf8.name"="x"}`, "up[5m:]", "1 + ", "{",
	} {
		f.Add(s, int64(3600), int64(60))
	}
	l := DefaultQueryLimits()
	l.MaxLength, l.MaxOperators, l.MaxSteps = 4096, 50, 100_000
	p := parser.NewParser(parser.Options{})
	f.Fuzz(func(t *testing.T, qs string, span, step int64) {
		if err := l.CheckSize(context.Background(), qs); err != nil {
			return
		}
		expr, err := p.ParseExpr(qs)
		if err != nil {
			return
		}
		end := time.Unix(1e9, 0)
		start, interval := end.Add(-time.Duration(span)*time.Second), time.Duration(step)*time.Second
		err = l.CheckSteps(expr, start, end, interval)
		// The pre-flight skips parsing a query without a colon: it must
		// have no subquery, so that its steps are its own.
		if !strings.Contains(qs, ":") && (err == nil) != (l.CheckSteps(nil, start, end, interval) == nil) {
			t.Fatalf("%q: steps %v parsed, %v unparsed", qs, err, l.CheckSteps(nil, start, end, interval))
		}
	})
}

// TestPreflightSteps: the pre-flight refuses the same queries whether or
// not it parses them, and a query that does not parse gets the parser's
// error even when it asks for too many steps.
func TestPreflightSteps(t *testing.T) {
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 100, Timeout: time.Minute})
	l := DefaultQueryLimits()
	l.MaxSteps = 100
	e := LimitEngine(engine, parser.NewParser(parser.Options{}), l)
	q := storage.QueryableFunc(func(int64, int64) (storage.Querier, error) { return storage.NoopQuerier(), nil })
	ctx := context.Background()
	end := time.Unix(1e9, 0)
	for _, tc := range []struct {
		name, query string
		steps       int
		err         string // "" for none; else where: "parse" or "exec"
	}{
		{"few steps, no subquery", "rate(up[5m])", 50, ""},
		{"too many steps, no subquery", "rate(up[5m])", 200, "exec"},
		{"too many steps, does not parse", "rate(up[5m]", 200, "parse"},
		{"subquery over", "max_over_time(up[100m:1m])", 1, "exec"},
		{"subquery within", "max_over_time(up[50m:1m])", 1, ""},
		{"recording rule name", "job:up:sum", 50, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			qry, err := e.NewRangeQuery(ctx, q, nil, tc.query, end.Add(-time.Duration(tc.steps-1)*time.Minute), end, time.Minute)
			if tc.err == "parse" {
				var pe parser.ParseErrors
				require.True(t, errors.As(err, &pe), "got %v", err)
				return
			}
			require.NoError(t, err)
			defer qry.Close()
			res := qry.Exec(ctx)
			if tc.err == "exec" {
				require.ErrorContains(t, res.Err, "--query.max-steps")
				return
			}
			require.NoError(t, res.Err)
		})
	}
}

// floatLenBound never undercounts, or the first pass of CheckResult could
// let through what the exact estimate refuses.
func FuzzFloatLenBound(f *testing.F) {
	for _, v := range []float64{0, 1, -1, 0.1, 1e-300, 5e-324, 1.7976931348623157e308, -123456.789, 1e21, 1e-7} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if n := len(strconv.FormatFloat(v, 'f', -1, 64)); int64(n) > floatLenBound(v) {
			t.Fatalf("%v: %d characters, bound %d", v, n, floatLenBound(v))
		}
	})
}
