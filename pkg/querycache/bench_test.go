package querycache

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/stretchr/testify/require"
)

// BenchmarkDashboardRefresh is the dashboard refresh of issue 8 in
// miniature: sum by (instance) (rate(x[5m])) over 6h at a 30s step, 1,000
// series in and 100 out, slid by 30s per refresh, uncached and cached.
//
//	go test -run '^$' -bench DashboardRefresh ./pkg/querycache
func BenchmarkDashboardRefresh(b *testing.B) {
	db, err := tsdb.Open(b.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	require.NoError(b, err)
	defer db.Close()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tracker := NewTracker(0, func() time.Time { return now }, nil)
	app := tracker.Appendable(db)
	const step = 15 * time.Second
	end := now.UnixMilli()
	for ts, v := end-(7*time.Hour).Milliseconds(), 0.0; ts <= end; ts += step.Milliseconds() {
		a := app.Appender(context.Background())
		v += 10
		for i := range 1000 {
			l := labels.FromStrings("__name__", "x_total", "instance", fmt.Sprint(i%100), "shard", fmt.Sprint(i/100))
			_, err := a.Append(0, l, ts, v*float64(i%7+1))
			require.NoError(b, err)
		}
		require.NoError(b, a.Commit())
	}
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: math.MaxInt32, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	cached := NewEngine(engine, Options{
		MaxBytes: 64 << 20, LookbackDelta: 5 * time.Minute, Tracker: tracker,
		Storage: dbStorage{db}, Parser: parser.NewParser(parser.Options{}),
	})
	const q = `sum by (instance) (rate(x_total[5m]))`
	for name, e := range map[string]promql.QueryEngine{"uncached": engine, "cached": cached} {
		b.Run(name, func(b *testing.B) {
			refresh := func(i int) {
				t := time.UnixMilli(end).Add(-10 * time.Minute).Add(time.Duration(i%20) * 30 * time.Second)
				qry, err := e.NewRangeQuery(context.Background(), db, nil, q, t.Add(-6*time.Hour), t, 30*time.Second)
				require.NoError(b, err)
				res := qry.Exec(context.Background())
				require.NoError(b, res.Err)
				require.Len(b, res.Value.(promql.Matrix), 100)
				qry.Close()
			}
			refresh(0) // the first load fills the cache
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				refresh(i + 1)
			}
		})
	}
}
