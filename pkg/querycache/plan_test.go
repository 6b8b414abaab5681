package querycache

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"
)

func TestPlan(t *testing.T) {
	const lookback = 5 * time.Minute
	for _, tc := range []struct {
		expr             string
		cacheable        bool
		readFrom, readTo int64 // ms, relative to the step
		maxStep          int64
	}{
		{expr: "up", cacheable: true, readFrom: -300_000 + 1},
		{expr: `sum by (instance) (rate(x_total[5m]))`, cacheable: true, readFrom: -300_000 + 1},
		{expr: "rate(x_total[10m] offset 1h)", cacheable: true, readFrom: -4_200_000 + 1, readTo: -3_600_000},
		{expr: "x offset -2m", cacheable: true, readFrom: -180_000 + 1, readTo: 120_000},
		{expr: "time() - timestamp(x)", cacheable: true, readFrom: -300_000 + 1},
		{expr: "vector(1)", cacheable: true},
		{expr: `histogram_quantile(0.9, sum by (le) (rate(b_bucket[5m])))`, cacheable: true, readFrom: -300_000 + 1},
		{expr: `count by (job) (up)`, cacheable: true, readFrom: -300_000 + 1},

		{expr: "x @ 1700000000"},
		{expr: "x @ start()"},
		{expr: "rate(x[5m] @ end())"},
		{expr: "max_over_time(rate(x[1m])[10m:1m])", cacheable: true, readFrom: -660_000 + 1, maxStep: 600_000},
		{expr: "max_over_time(x[10m:1m]) + min_over_time(x[5m:1m] offset 1m)", cacheable: true, readFrom: -900_000 + 1, maxStep: 300_000},
		{expr: "max_over_time(max_over_time(x[2m:1m])[10m:1m])", cacheable: true, readFrom: -1_020_000 + 1, maxStep: 600_000},
		{expr: "max_over_time(max_over_time(x[2m:1m])[10m:3m])"},
		{expr: "max_over_time(max_over_time(x[2m:1m])[10m:])"},
		{expr: "sort(x)"},
		{expr: "sort_desc(rate(x_total[5m]))"},
		{expr: "max_over_time(x[10m:1m] @ end())"},
		{expr: "limitk(2, x)"},
		{expr: "topk(3, rate(x_total[5m]))"},
		{expr: "sort_by_label(x, \"job\")"},
		{expr: "mad_over_time(x[5m])"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			p := parser.NewParser(parser.Options{EnableExperimentalFunctions: true})
			expr, err := p.ParseExpr(tc.expr)
			require.NoError(t, err)
			pl, err := planOf(expr, lookback)
			if !tc.cacheable {
				require.ErrorIs(t, err, errBypass)
				return
			}
			require.NoError(t, err)
			require.Equal(t, shardOf(expr), pl.shard) // TestShardOf
			pl.shard = nil
			require.Equal(t, plan{readFrom: tc.readFrom, readTo: tc.readTo, maxStep: tc.maxStep}, pl)
		})
	}
}

// TestPlans: a remembered plan is the one planning again would give, per
// query text and lookback delta, and the memory held stays bounded.
func TestPlans(t *testing.T) {
	ps := newPlans(parser.NewParser(parser.Options{}))
	for range 2 { // planned, then remembered
		p, ok := ps.get("up", 5*time.Minute)
		require.True(t, ok)
		require.Equal(t, plan{readFrom: -300_000 + 1}, p)
		p, ok = ps.get("up", 10*time.Minute)
		require.True(t, ok)
		require.Equal(t, plan{readFrom: -600_000 + 1}, p)
		_, ok = ps.get("x @ start()", 5*time.Minute)
		require.False(t, ok)
		_, ok = ps.get("up{", 5*time.Minute)
		require.False(t, ok)
	}
	require.Equal(t, 4, ps.len())

	long := "up + " + strings.Repeat("up + ", maxPlannedLen/5) + "up"
	_, ok := ps.get(long, 5*time.Minute)
	require.True(t, ok)
	require.Equal(t, 4, ps.len(), "a query longer than maxPlannedLen is not remembered")

	for i := range maxPlans + 10 {
		ps.get(fmt.Sprintf("up{i=\"%d\"}", i), 5*time.Minute)
		require.LessOrEqual(t, ps.len(), maxPlans)
	}
}

// countingAppendable counts commits, to check the tracker passes them on,
// and answers appends at the timestamps in errs with those errors.
type countingAppendable struct {
	commits int
	errs    map[int64]error
}

func (c *countingAppendable) Appender(context.Context) storage.Appender {
	return &countingAppender{c: c}
}

type countingAppender struct {
	storage.Appender
	c *countingAppendable
}

func (a *countingAppender) Append(_ storage.SeriesRef, _ labels.Labels, t int64, _ float64) (storage.SeriesRef, error) {
	return 0, a.c.errs[t]
}
func (a *countingAppender) Commit() error   { a.c.commits++; return nil }
func (a *countingAppender) Rollback() error { return nil }

func TestTracker(t *testing.T) {
	now := time.UnixMilli(10_000_000)
	tr := NewTracker(time.Minute, func() time.Time { return now }, nil)
	inner := &countingAppendable{errs: map[int64]error{
		9_000_000: storage.ErrOutOfOrderSample,
		9_000_001: fmt.Errorf("exemplar refused after the sample was written"),
	}}
	app := tr.Appendable(inner)
	write := func(ts ...int64) {
		a := app.Appender(context.Background())
		for _, t := range ts {
			_, _ = a.Append(0, labels.EmptyLabels(), t, 1)
		}
		require.NoError(t, a.Commit())
	}

	// Before any sample nothing is final.
	require.Less(t, tr.Watermark(), int64(0))
	write(9_990_000)
	require.Equal(t, 1, inner.commits)
	require.Equal(t, int64(9_990_000-60_000), tr.Watermark(), "a minute behind the newest sample")
	gen := tr.Generation()

	write(9_950_000) // 40s behind: in time
	require.Equal(t, gen, tr.Generation())
	write(9_920_000) // 70s behind: a backfill
	require.Equal(t, gen+1, tr.Generation())

	// A sample the storage refused changed nothing; one that failed
	// otherwise may have been written.
	write(9_000_000)
	require.Equal(t, gen+1, tr.Generation())
	write(9_000_001)
	require.Equal(t, gen+2, tr.Generation())
	gen++

	// A rolled back batch wrote nothing.
	a := app.Appender(context.Background())
	_, _ = a.Append(0, labels.EmptyLabels(), 1, 1)
	require.NoError(t, a.Rollback())
	require.Equal(t, gen+1, tr.Generation())

	// Samples from the future do not move the watermark past now.
	write(20_000_000)
	require.Equal(t, int64(10_000_000-60_000), tr.Watermark())
	// And the watermark never moves back, even with the clock.
	now = now.Add(-time.Hour)
	require.Equal(t, int64(10_000_000-60_000), tr.Watermark())
}
