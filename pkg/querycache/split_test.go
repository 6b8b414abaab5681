package querycache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/stretchr/testify/require"
)

// testParts is how many sub-ranges the tests' split engines make.
const testParts = 3

// newSplitEngine builds a SplitEngine over whole (built from opts) with a
// sub-range engine as the server builds it: opts without the tracker, with
// the samples limit divided by the parts.
func newSplitEngine(whole WholeEngine, opts promql.EngineOpts, minSteps int) *SplitEngine {
	sub := opts
	sub.ActiveQueryTracker = nil
	sub.Reg = nil
	sub.MaxSamples = opts.MaxSamples / testParts
	if opts.Parser == nil {
		opts.Parser = parser.NewParser(parser.Options{})
	}
	return NewSplitEngine(whole, promql.NewEngine(sub), SplitOptions{
		MaxParts: testParts, MinSteps: minSteps, MaxSamples: opts.MaxSamples,
		Timeout: opts.Timeout, LookbackDelta: opts.LookbackDelta, Parser: opts.Parser,
	})
}

// The property: for random range queries over a world whose ranges read
// blocks and the head, with series created out of label order, the split
// engine answers exactly what the engine answers whole: the same series,
// the same float bits, the same annotations and errors.
func TestSplitEqualsWhole(t *testing.T) {
	seeds, n := uint64(4), 60
	if raceEnabled {
		seeds, n = 2, 30
	}
	for seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			w := newWorld(t, seed, worldOptions{split: true, blocks: true, shuffled: true})
			if m := w.checkSplit(n); m != "" {
				t.Fatal(m)
			}
			split := testutil.ToFloat64(w.split.queries.WithLabelValues(splitSplit))
			require.Positive(t, split, "queries split")
			t.Logf("range queries: split %.0f, sharded %.0f, whole %.0f, fallback %.0f; nondeterministic answers %d; upstream panics %d",
				split, testutil.ToFloat64(w.split.queries.WithLabelValues(splitSharded)), testutil.ToFloat64(w.split.queries.WithLabelValues(splitWhole)),
				testutil.ToFloat64(w.split.queries.WithLabelValues(splitFallback)), w.nondeterministic, w.engineBugs)
		})
	}
}

// Sub-ranges must read through the whole range's querier: a sub-range
// reading only the head gets its series in creation order, and sums them
// in another order than the whole range does. The property test must
// notice when they do not.
func TestSplitPropertyCatchesSubRangeQueriers(t *testing.T) {
	found := ""
	for seed := uint64(0); seed < 6 && found == ""; seed++ {
		w := newWorld(t, seed, worldOptions{split: true, blocks: true, shuffled: true})
		w.split.subRangeQueriersForTest = true
		w.split.noShardsForTest = true // aggregations by groups, which are order-sensitive, would be sharded
		found = w.checkSplit(60)
	}
	require.NotEmpty(t, found, "the property test did not notice sub-ranges reading their own queriers")
	t.Log(found)
}

// The property for sharded aggregations (shard.go): aggregations by groups
// over one selector, which the split engine evaluates in shards of their
// groups, answer exactly what the engine answers whole, in the same bits,
// also where the sum of a group depends on the order of its series.
func TestShardedEqualsWhole(t *testing.T) {
	seeds, n := uint64(4), 60
	if raceEnabled {
		seeds, n = 2, 30
	}
	for seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			w := newWorld(t, seed, worldOptions{split: true, blocks: true, shuffled: true, orderSensitive: seed%2 == 1})
			w.split.forceShardsForTest = true
			if m := w.checkShards(n); m != "" {
				t.Fatal(m)
			}
			require.Positive(t, testutil.ToFloat64(w.split.queries.WithLabelValues(splitSharded)), "queries sharded")
			t.Logf("range queries: sharded %.0f, split %.0f, whole %.0f, fallback %.0f; nondeterministic answers %d",
				testutil.ToFloat64(w.split.queries.WithLabelValues(splitSharded)),
				testutil.ToFloat64(w.split.queries.WithLabelValues(splitSplit)),
				testutil.ToFloat64(w.split.queries.WithLabelValues(splitWhole)),
				testutil.ToFloat64(w.split.queries.WithLabelValues(splitFallback)), w.nondeterministic)
		})
	}
}

// Shards must hold whole groups: sharded by series, a group's sum comes
// back as several partial sums. The property test must notice.
func TestShardPropertyCatchesSeriesShards(t *testing.T) {
	w := newWorld(t, 0, worldOptions{split: true, blocks: true, shuffled: true})
	w.split.shardBySeriesForTest = true
	w.split.forceShardsForTest = true
	found := w.checkShards(30)
	require.NotEmpty(t, found, "the property test did not notice shards that split groups")
	t.Log(found)
}

// checkShards is checkSplit over aggregations the split engine shards.
func (w *world) checkShards(n int) string {
	pick := func(xs ...string) string { return xs[w.rng.IntN(len(xs))] }
	return w.checkSplitOf(n, func() string {
		by := pick(" by (job)", " by (instance)", " by (job, instance)", " without (instance)", " without (le)")
		in := pick("requests_total", `requests_total{job!="b"}`, "rate(requests_total[5m])", "increase(bytes_sent[2m] offset 1m)",
			"avg_over_time(temperature[90s])", "quantile_over_time(0.9, temperature[5m])", "-temperature", "-stdvar_over_time(bytes_sent[5m])",
			"predict_linear(temperature[5m], 60)", "deriv(temperature[5m])", "last_over_time(latency_seconds[2m])")
		if w.rng.IntN(3) == 0 {
			by = pick(" by (zone)", " without (host)", " by (host)")
			in = pick("load", `load{zone="a"}`, "avg_over_time(load[2m])", "rate(load[5m])", "load offset 1m", "stddev_over_time(load[5m])")
		}
		return pick("sum", "avg", "stddev", "stdvar", "min", "max", "count", "group") + by + " (" + in + ")"
	})
}

// The results cache evaluating its missing steps through the split engine
// still answers what the engine answers whole; in an order-sensitive world
// (see world), bit for bit, so that the cache's pieces and the split's
// sub-ranges both read series in the whole range's order.
func TestCachedSplitEqualsUncached(t *testing.T) {
	seeds := uint64(3)
	if raceEnabled {
		seeds = 1
	}
	for name, wo := range map[string]worldOptions{
		"blocks":          {split: true, blocks: true, shuffled: true},
		"order-sensitive": {split: true, orderSensitive: true},
	} {
		for seed := range seeds {
			t.Run(fmt.Sprint(name, "/seed", seed), func(t *testing.T) {
				w := newWorld(t, seed, wo)
				if m := w.check(30); m != "" {
					t.Fatal(m)
				}
				require.Positive(t, testutil.ToFloat64(w.split.queries.WithLabelValues(splitSplit)), "queries split")
				t.Logf("range queries: %s", queryResults(w.cached))
			})
		}
	}
}

// checkSplit compares n random range queries, split and whole, over
// windows that reach from the head into the blocks, changing the data in
// between, and returns the first difference, or "".
func (w *world) checkSplit(n int) string {
	return w.checkSplitOf(n, func() string {
		expr := genExpr(w.rng, w.rng.IntN(3)+1)
		if w.rng.IntN(2) == 0 {
			// What the order of series changes in the last bits.
			expr = []string{"sum", "avg", "stddev", "stdvar"}[w.rng.IntN(4)] +
				[]string{"", " by (job)", " without (job)"}[w.rng.IntN(3)] + " (" + genExpr(w.rng, w.rng.IntN(2)) + ")"
		}
		return expr
	})
}

// checkSplitOf is checkSplit over the expressions gen returns.
func (w *world) checkSplitOf(n int, gen func() string) string {
	for range n {
		expr := gen()
		steps := []time.Duration{15 * time.Second, 30 * time.Second, time.Minute, 45 * time.Second, 7 * time.Second}
		step := steps[w.rng.IntN(len(steps))]
		// The head holds the last 30 to 60 minutes: a window reaches
		// into the blocks, and its last sub-range may read only the head.
		length := time.Duration(w.rng.IntN(150)+1) * time.Minute
		if w.rng.IntN(5) == 0 {
			length = time.Duration(w.rng.IntN(4)) * step // a few steps, or one
		}
		end := w.now - int64(w.rng.IntN(30))*time.Minute.Milliseconds()
		if w.rng.IntN(4) > 0 {
			end -= end % step.Milliseconds()
		}
		start := end - length.Milliseconds()
		if m := w.compareSplit(expr, start, end, step); m != "" && m != errInvalid {
			return fmt.Sprintf("%s\nquery %q step %s window [%d, %d] (now %d)", m, expr, step, start, end, w.now)
		}
		switch r := w.rng.IntN(10); {
		case r < 3:
			w.advance(time.Duration(w.rng.IntN(4)+1) * scrapeInterval)
		case r < 4:
			w.backfill()
		case r < 5:
			w.deleteSeries()
		}
	}
	return ""
}

// compareSplit evaluates once split and once whole and describes the
// first difference in bits.
func (w *world) compareSplit(expr string, start, end int64, step time.Duration) string {
	ctx := context.Background()
	s, e := time.UnixMilli(start), time.UnixMilli(end)
	sq, serr := w.split.NewRangeQuery(ctx, w.db, nil, expr, s, e, step)
	pq, perr := w.plain.NewRangeQuery(ctx, w.db, nil, expr, s, e, step)
	if serr != nil || perr != nil {
		if serr == nil || perr == nil || serr.Error() != perr.Error() {
			return fmt.Sprintf("building the query: split %v, whole %v", serr, perr)
		}
		return errInvalid
	}
	defer sq.Close()
	defer pq.Close()
	got, want := sq.Exec(ctx), pq.Exec(ctx)
	if !sq.(*splitQuery).splittable {
		return "" // the engine's own answer
	}
	if want.Err != nil && strings.Contains(want.Err.Error(), "unexpected error: runtime error") {
		w.engineBugs++ // see compare
		return ""
	}
	d := diffResultsWith(expr, got, want, sameBits)
	if d == "" {
		return ""
	}
	// Where the engine itself is not deterministic (it aggregates the
	// output of binary operations in map order), neither is a split. A
	// small map has few orders, so that 8 evaluations could all give the
	// same one (the test failed so about once in 30 runs).
	for range 32 {
		again, err := w.plain.NewRangeQuery(ctx, w.db, nil, expr, s, e, step)
		if err != nil {
			return err.Error()
		}
		res := again.Exec(ctx)
		same, differs := diffResultsWith(expr, got, res, sameBits) == "", diffResultsWith(expr, want, res, sameBits) != ""
		again.Close()
		if same || differs {
			w.nondeterministic++
			return ""
		}
	}
	return d
}

// smallDB holds series x{i="0"} ... of one sample every 15s over the hour
// before end, created in reverse label order.
func smallDB(t testing.TB, series int, end int64) *tsdb.DB {
	db, err := tsdb.Open(t.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	for ts := end - time.Hour.Milliseconds(); ts <= end; ts += 15_000 {
		app := db.Appender(context.Background())
		for i := series - 1; i >= 0; i-- {
			_, err := app.Append(0, labels.FromStrings("__name__", "x", "i", fmt.Sprint(i)), ts, float64(ts/1000)*1.1+float64(i)/3)
			require.NoError(t, err)
		}
		require.NoError(t, app.Commit())
	}
	return db
}

func testEngineOpts(maxSamples int) promql.EngineOpts {
	return promql.EngineOpts{MaxSamples: maxSamples, Timeout: time.Minute, LookbackDelta: testLookback, Parser: parser.NewParser(parser.Options{})}
}

// The samples limit fails exactly the queries a whole evaluation fails:
// sub-ranges get a share of it each, and any sub-range over its share, or
// sub-ranges over the limit together, send the query to the whole engine.
func TestSplitSamplesLimit(t *testing.T) {
	end := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC).UnixMilli()
	db := smallDB(t, 10, end)
	const q = `x`
	s, e := time.UnixMilli(end-time.Hour.Milliseconds()), time.UnixMilli(end)
	run := func(eng promql.QueryEngine) *promql.Result {
		qry, err := eng.NewRangeQuery(context.Background(), db, nil, q, s, e, time.Minute)
		require.NoError(t, err)
		t.Cleanup(qry.Close)
		return qry.Exec(context.Background())
	}
	// The whole evaluation's peak.
	unlimited := promql.NewEngine(testEngineOpts(math.MaxInt32))
	qry, err := unlimited.NewRangeQuery(context.Background(), db, nil, q, s, e, time.Minute)
	require.NoError(t, err)
	require.NoError(t, qry.Exec(context.Background()).Err)
	peak := qry.Stats().Samples.PeakSamples
	qry.Close()
	require.Greater(t, peak, 100)

	for _, c := range []struct {
		name  string
		limit int
		// fullShare gives each sub-range the whole limit (a server
		// misconfigured), so that only the check of their sum is left.
		fullShare bool
		how       string
		wantErr   bool
	}{
		{"far within", 10 * peak, false, splitSplit, false},
		{"a sub-range over its share", peak + 1, false, splitFallback, false},
		{"over", peak - 1, false, splitFallback, true},
		{"sub-ranges within, together over", peak - 1, true, splitFallback, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := testEngineOpts(c.limit)
			whole := promql.NewEngine(opts)
			split := newSplitEngine(whole, opts, 1)
			if c.fullShare {
				split.sub = promql.NewEngine(opts)
			}
			got, want := run(split), run(whole)
			require.Empty(t, diffResultsWith(q, got, want, sameBits))
			require.Equal(t, c.wantErr, want.Err != nil, "%v", want.Err)
			require.Equal(t, 1.0, testutil.ToFloat64(split.queries.WithLabelValues(c.how)))
		})
	}
}

// slotCounter counts the query slots taken outside Exec.
type slotCounter struct {
	*promql.Engine
	taken atomic.Int64
}

func (s *slotCounter) AcquireQuerySlot(ctx context.Context, qs string) (func(), error) {
	s.taken.Add(1)
	return s.Engine.AcquireQuerySlot(ctx, qs)
}

// A split query takes one of the engine's query slots, and its sub-ranges
// none: with --query.max-concurrency=1 it runs, and it waits while the
// slot is taken.
func TestSplitHoldsOneSlot(t *testing.T) {
	end := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC).UnixMilli()
	db := smallDB(t, 10, end)
	tracker, err := promql.NewActiveQueryTracker(t.TempDir(), 1, promslog.NewNopLogger())
	require.NoError(t, err)
	opts := testEngineOpts(math.MaxInt32)
	opts.ActiveQueryTracker = tracker
	whole := &slotCounter{Engine: promql.NewEngine(opts)}
	t.Cleanup(func() { require.NoError(t, whole.Close()) })
	split := newSplitEngine(whole, opts, 1)
	// Building a query takes the slot for a moment too (upstream).
	build := func() promql.Query {
		qry, err := split.NewRangeQuery(context.Background(), db, nil, `sum(x)`, time.UnixMilli(end-time.Hour.Milliseconds()), time.UnixMilli(end), time.Minute)
		require.NoError(t, err)
		t.Cleanup(qry.Close)
		return qry
	}
	require.NoError(t, build().Exec(context.Background()).Err)
	require.Equal(t, 1.0, testutil.ToFloat64(split.queries.WithLabelValues(splitSplit)))
	require.Equal(t, int64(1), whole.taken.Load())

	qry := build()
	release, err := whole.Engine.AcquireQuerySlot(context.Background(), "the only slot")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, qry.Exec(ctx).Err, context.DeadlineExceeded, "the split query waited for the slot")
	release()
	require.NoError(t, build().Exec(context.Background()).Err)
	require.Equal(t, 2.0, testutil.ToFloat64(split.queries.WithLabelValues(splitSplit)))
}

// blockingQueryable's selects wait until their context ends.
type blockingQueryable struct {
	storage.Queryable
	selects, waiting atomic.Int64
}

func (b *blockingQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := b.Queryable.Querier(mint, maxt)
	return blockingQuerier{Querier: q, b: b}, err
}

type blockingQuerier struct {
	storage.Querier
	b *blockingQueryable
}

func (q blockingQuerier) Select(ctx context.Context, _ bool, _ *storage.SelectHints, _ ...*labels.Matcher) storage.SeriesSet {
	q.b.selects.Add(1)
	q.b.waiting.Add(1)
	defer q.b.waiting.Add(-1)
	<-ctx.Done()
	return storage.ErrSeriesSet(ctx.Err())
}

// Cancelling a split query, or its timeout, stops every sub-range, and
// the query answers with the error, without evaluating the whole range.
func TestSplitCancelAndTimeout(t *testing.T) {
	end := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC).UnixMilli()
	db := smallDB(t, 3, end)
	for _, c := range []struct {
		name    string
		timeout time.Duration
		want    error
	}{
		{"cancel", time.Hour, context.Canceled},
		{"timeout", 50 * time.Millisecond, context.DeadlineExceeded},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := testEngineOpts(math.MaxInt32)
			opts.Timeout = c.timeout
			split := newSplitEngine(promql.NewEngine(opts), opts, 1)
			bq := &blockingQueryable{Queryable: db}
			qry, err := split.NewRangeQuery(context.Background(), bq, nil, `sum(rate(x[5m]))`, time.UnixMilli(end-time.Hour.Milliseconds()), time.UnixMilli(end), time.Minute)
			require.NoError(t, err)
			defer qry.Close()
			done := make(chan *promql.Result)
			go func() { done <- qry.Exec(context.Background()) }()
			if c.want == context.Canceled {
				require.Eventually(t, func() bool { return bq.waiting.Load() == testParts }, 10*time.Second, time.Millisecond)
				qry.Cancel()
			}
			res := <-done
			require.Error(t, res.Err)
			var canceled promql.ErrQueryCanceled
			var timeout promql.ErrQueryTimeout
			if c.want == context.Canceled {
				require.True(t, errors.Is(res.Err, context.Canceled) || errors.As(res.Err, &canceled), "%v", res.Err)
			} else {
				require.True(t, errors.Is(res.Err, context.DeadlineExceeded) || errors.As(res.Err, &timeout), "%v", res.Err)
			}
			require.Equal(t, int64(0), bq.waiting.Load(), "every sub-range stopped")
			require.Equal(t, int64(testParts), bq.selects.Load(), "only the sub-ranges selected")
			require.Equal(t, 1.0, testutil.ToFloat64(split.queries.WithLabelValues(splitFallback)))
		})
	}
}

// Small ranges and single steps are evaluated whole, and so is a query
// while other range queries keep every core busy.
func TestSplitParts(t *testing.T) {
	e := NewSplitEngine(nil, nil, SplitOptions{MaxParts: 4, MinSteps: 10})
	e.running.Store(1)
	for steps, want := range map[int64]int{1: 1, 19: 1, 20: 2, 39: 3, 40: 4, 1000: 4} {
		require.Equal(t, want, e.partsFor(steps), "%d steps", steps)
	}
	e.running.Store(3) // two others
	require.Equal(t, 2, e.partsFor(1000))
	e.running.Store(9)
	require.Equal(t, 1, e.partsFor(1000))

	// The scheduler's count of idle cores bounds it too.
	idle := 1
	e.o.IdleCores = func() int { return idle }
	e.running.Store(1)
	require.Equal(t, 1, e.partsFor(1000))
	idle = 3
	require.Equal(t, 3, e.partsFor(1000))
	idle = 8
	require.Equal(t, 4, e.partsFor(1000))
}

// The scheduler's count: this goroutine runs, so at most GOMAXPROCS.
func TestSchedulerIdleCores(t *testing.T) {
	n := SchedulerIdleCores()
	require.GreaterOrEqual(t, n, 1)
	require.LessOrEqual(t, n, runtime.GOMAXPROCS(0))
}
