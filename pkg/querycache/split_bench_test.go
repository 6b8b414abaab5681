package querycache

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/stretchr/testify/require"
)

// Cold range queries, evaluated whole and split, on GOMAXPROCS cores:
//
//	go test -run '^$' -bench 'Split' -cpu 1,2 ./pkg/querycache
//
// The data: series of a counter scraped every 15s, like bench/scrape.sh's
// target (pod and zone labels), over the hour before the query; and a day
// of a smaller set, cut into 2h blocks and the head.
var benchEnd = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC).UnixMilli()

// benchDB returns a TSDB of series counters over span before benchEnd, in
// 2h blocks and the head.
func benchDB(b *testing.B, series int, span time.Duration) *tsdb.DB {
	db, err := tsdb.Open(b.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	require.NoError(b, err)
	b.Cleanup(func() { require.NoError(b, db.Close()) })
	db.DisableCompactions()
	lsets := make([]labels.Labels, series)
	for i := range lsets {
		lsets[i] = labels.FromStrings("__name__", "big_target_value", "pod", "p"+strconv.Itoa(i%1000),
			"series", strconv.Itoa(i), "zone", "z"+strconv.Itoa(i%10))
	}
	for ts, n := benchEnd-span.Milliseconds(), 0.0; ts <= benchEnd; ts, n = ts+15_000, n+1 {
		app := db.Appender(context.Background())
		for i, l := range lsets {
			_, err := app.Append(0, l, ts, n*float64(i%7+1))
			require.NoError(b, err)
		}
		require.NoError(b, app.Commit())
	}
	require.NoError(b, db.Compact(context.Background()))
	return db
}

// benchEngines are the engine evaluating whole and a split engine over
// it, on GOMAXPROCS parts.
func benchEngines(minSteps int) (*promql.Engine, *SplitEngine) {
	opts := testEngineOpts(50_000_000)
	whole := promql.NewEngine(opts)
	parts := runtime.GOMAXPROCS(0)
	sub := opts
	sub.MaxSamples /= parts
	return whole, NewSplitEngine(whole, promql.NewEngine(sub), SplitOptions{
		MaxParts: parts, MinSteps: minSteps, MaxSamples: opts.MaxSamples,
		Timeout: opts.Timeout, LookbackDelta: opts.LookbackDelta, Parser: opts.Parser,
	})
}

// benchRange runs q over window, and reports besides the time the CPU time
// per query, which a machine busy with other work does not inflate: a split
// query's CPU time over the whole's is what splitting costs when no core
// is idle, and with n idle cores a split in n parts takes about 1/n of it.
func benchRange(b *testing.B, e promql.QueryEngine, db *tsdb.DB, q string, window, step time.Duration) {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	before := cpu()
	defer func() { b.ReportMetric(float64((cpu()-before).Microseconds())/1000/float64(b.N), "cpu-ms/op") }()
	for i := 0; b.Loop(); i++ {
		// A new phase each time, as bench/coldrange.lua asks.
		end := time.UnixMilli(benchEnd - int64(i%97))
		qry, err := e.NewRangeQuery(context.Background(), db, nil, q, end.Add(-window), end, step)
		require.NoError(b, err)
		res := qry.Exec(context.Background())
		require.NoError(b, res.Err)
		qry.Close()
	}
}

// BenchmarkSplitColdRange is bench/scrape.sh's cold range query: the hour
// at a 60s step, over 100,000 series and over 100 of them; whole, sharded
// by its groups (shard.go), and split in time.
func BenchmarkSplitColdRange(b *testing.B) {
	for _, series := range []int{100, 100_000} {
		db := benchDB(b, series, 70*time.Minute)
		whole, split := benchEngines(16)
		split.forceShardsForTest = true
		_, timeSplit := benchEngines(16)
		timeSplit.noShardsForTest = true
		for name, e := range map[string]promql.QueryEngine{"whole": whole, "sharded": split, "split": timeSplit} {
			b.Run(fmt.Sprintf("series=%d/%s", series, name), func(b *testing.B) {
				benchRange(b, e, db, `sum by (zone) (rate(big_target_value[1m]))`, time.Hour, time.Minute)
			})
		}
	}
}

// BenchmarkSplitDay is a dashboard panel's first load over a day of 1,000
// series: 6h at 30s and 24h at 120s.
func BenchmarkSplitDay(b *testing.B) {
	db := benchDB(b, 1000, 25*time.Hour)
	whole, split := benchEngines(16)
	for _, p := range []struct {
		window, step time.Duration
	}{{6 * time.Hour, 30 * time.Second}, {24 * time.Hour, 2 * time.Minute}} {
		for name, e := range map[string]promql.QueryEngine{"whole": whole, "split": split} {
			b.Run(fmt.Sprintf("%s/%s", p.window, name), func(b *testing.B) {
				benchRange(b, e, db, `sum by (pod) (rate(big_target_value[5m]))`, p.window, p.step)
			})
		}
	}
}

// BenchmarkSplitSteps finds the fewest steps worth a sub-range: ranges of
// a few steps at 60s, whole and split in two (MinSteps 1), over 100 and
// 10,000 series.
func BenchmarkSplitSteps(b *testing.B) {
	for _, series := range []int{100, 10_000} {
		db := benchDB(b, series, 70*time.Minute)
		whole, split := benchEngines(1)
		for _, steps := range []int{2, 4, 8, 16, 32} {
			for name, e := range map[string]promql.QueryEngine{"whole": whole, "split": split} {
				b.Run(fmt.Sprintf("series=%d/steps=%d/%s", series, steps, name), func(b *testing.B) {
					benchRange(b, e, db, `sum by (zone) (rate(big_target_value[1m]))`, time.Duration(steps-1)*time.Minute, time.Minute)
				})
			}
		}
	}
}
