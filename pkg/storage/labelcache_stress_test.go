package storage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/storage/storagetest"
)

// The cache answers as the DB's querier while appends (new series and
// samples), head compaction, series gc (head truncation), retention,
// deletes in the head and label lookups run at once; run it with -race.
//
// Each round runs the writers and two readers concurrently, then stops
// them, deletes series in the blocks too (and now and then rewrites the
// blocks without them), and compares cached answers with the DB's exactly
// (each asked twice, the second from the cache). Deletes in blocks wait
// for the barrier because upstream's Block.Delete races with its own
// DB.Querier (it writes the block's meta unguarded). A read concurrent with the
// writers is checked against the DB's answers just before and just after
// it: it must hold every value both hold and no value neither holds
// except those of series created meanwhile. That bound is sound because
// a value, once gone, never returns here: each series has its own pod
// value, a retired series gets no samples again and is the only kind
// deleted, anchor series keep the metric names and zones alive, and with
// 2h blocks only (a 12h retention) no compaction merges blocks, which
// could show a range a series it had lost.
func TestLabelCacheUnderConcurrentWrites(t *testing.T) {
	for _, tc := range []struct {
		name   string
		noHead bool
		rounds int
	}{{"head cached", false, 8}, {"head uncached", true, 4}} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStress(t, tc.noHead)
			for round := range tc.rounds {
				began := time.Now()
				st.round(t, round)
				t.Logf("round %d: %v, %d blocks, %d head series", round, time.Since(began), len(st.db.Blocks()), st.db.Head().NumSeries())
			}
			b := st.s.b.(*dbBackend)
			require.Positive(t, testutil.ToFloat64(b.blocks.hits), "no block answer came from the cache")
			if !tc.noHead {
				require.Positive(t, testutil.ToFloat64(b.head.hits), "no head answer came from the cache")
			}
			require.Positive(t, st.retired.Load(), "no series was retired")
		})
	}
}

// stress is the state of TestLabelCacheUnderConcurrentWrites. The appender
// owns live, retiredPods and next; readers see announced, appended and now.
type stress struct {
	s   *Storage
	db  *tsdb.DB
	rng *rand.Rand // the appender's and the test goroutine's, never both at once

	start int64
	now   atomic.Int64 // the newest sample's time

	live        []int    // series getting samples, by number
	retiredPods []string // pods of series getting none any more
	next        int      // the next series' number
	retired     atomic.Int64

	// announced counts series whose creation may have begun, appended
	// those whose Append returned: series numbers below appended are in
	// the head, those from appended on may appear at any time.
	announced, appended atomic.Int64
}

const stressStep = 15 * 60_000 // ms between samples

func newStress(t *testing.T, noHead bool) *stress {
	s, err := Open(promslog.NewNopLogger(), nil, Options{
		MemoryDir: storagetest.MemoryDir(t), Retention: 12 * time.Hour,
		BlockReloadInterval: time.Hour, NoHeadLabelCache: noHead,
	})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	db := s.b.(*dbBackend).DB
	// Compactions run only when the test says.
	db.DisableCompactions()
	st := &stress{s: s, db: db, rng: rand.New(rand.NewPCG(3, 4))}
	st.start = time.Now().Add(-7 * 24 * time.Hour).Truncate(2 * time.Hour).UnixMilli()
	st.now.Store(st.start)
	require.NoError(t, st.appendStep(st.start))
	return st
}

// series is series i's labels; every tenth has a label name of its own.
func stressSeries(i int) labels.Labels {
	b := labels.NewScratchBuilder(4)
	b.Add("__name__", fmt.Sprint("m", i%3))
	b.Add("pod", fmt.Sprint("p", i))
	if i%10 == 0 {
		b.Add(fmt.Sprint("x", i), "1")
	}
	b.Add("zone", fmt.Sprint("z", i%4))
	b.Sort()
	return b.Labels()
}

// appendStep appends a sample at ts to the anchors and the live series,
// creates three series and retires two.
func (st *stress) appendStep(ts int64) error {
	app := st.s.Appender(context.Background())
	for m := range 3 {
		for z := range 4 {
			l := labels.FromStrings("__name__", fmt.Sprint("m", m), "pod", "anchor", "zone", fmt.Sprint("z", z))
			if _, err := app.Append(0, l, ts, 1); err != nil {
				return err
			}
		}
	}
	for _, i := range st.live {
		if _, err := app.Append(0, stressSeries(i), ts, float64(i)); err != nil {
			return err
		}
	}
	for range 3 {
		i := st.next
		st.next++
		st.announced.Store(int64(st.next))
		if _, err := app.Append(0, stressSeries(i), ts, float64(i)); err != nil {
			return err
		}
		st.appended.Store(int64(st.next))
		st.live = append(st.live, i)
	}
	for range min(2, len(st.live)-1) {
		k := st.rng.IntN(len(st.live))
		st.retiredPods = append(st.retiredPods, fmt.Sprint("p", st.live[k]))
		st.live = slices.Delete(st.live, k, k+1)
		st.retired.Add(1)
	}
	if err := app.Commit(); err != nil {
		return err
	}
	st.now.Store(ts)
	return nil
}

// stressQuery is one label lookup over a range.
type stressQuery struct {
	mint, maxt int64
	name       string // values of name; empty asks for names
	ms         []*labels.Matcher
	limit      int
}

var stressMatchers = [][]*labels.Matcher{
	nil,
	{labels.MustNewMatcher(labels.MatchEqual, "__name__", "m1")},
	{labels.MustNewMatcher(labels.MatchRegexp, "zone", "z[12]")},
	{labels.MustNewMatcher(labels.MatchNotEqual, "pod", "anchor"), labels.MustNewMatcher(labels.MatchEqual, "__name__", "m2")},
	{labels.MustNewMatcher(labels.MatchNotEqual, "zone", "z0")},
}

func randomStressQuery(rng *rand.Rand, start, now int64) stressQuery {
	mint := start - 3_600_000 + rng.Int64N(now-start+2*3_600_000)
	q := stressQuery{
		mint: mint,
		maxt: mint + rng.Int64N(8*3_600_000),
		name: []string{"", "pod", "zone", "__name__", "x0", "x30", "absent"}[rng.IntN(7)],
		ms:   stressMatchers[rng.IntN(len(stressMatchers))],
	}
	if rng.IntN(10) == 0 {
		q.limit = 5
	}
	return q
}

func (q stressQuery) String() string {
	what := "names"
	if q.name != "" {
		what = "values of " + q.name
	}
	return fmt.Sprintf("%s in [%d, %d] under %v, limit %d", what, q.mint, q.maxt, q.ms, q.limit)
}

// ask asks the querier open opens.
func (q stressQuery) ask(open func(int64, int64) (storage.Querier, error)) ([]string, error) {
	sq, err := open(q.mint, q.maxt)
	if err != nil {
		return nil, err
	}
	defer sq.Close()
	hints := &storage.LabelHints{Limit: q.limit}
	// Upstream sorts the matchers it is given in place, and readers ask
	// the same queries at once: each asks with its own copy.
	ms := slices.Clone(q.ms)
	var vals []string
	if q.name == "" {
		vals, _, err = sq.LabelNames(context.Background(), hints, ms...)
	} else {
		vals, _, err = sq.LabelValues(context.Background(), q.name, hints, ms...)
	}
	return vals, err
}

// round runs the writers and the readers concurrently, then checks
// answers exactly with the writers stopped.
func (st *stress) round(t *testing.T, round int) {
	ctx := context.Background()
	deletable := slices.Clone(st.retiredPods)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	run := func(name string, f func() error) {
		wg.Go(func() {
			if err := f(); err != nil {
				errs <- fmt.Errorf("round %d, %s: %w", round, name, err)
			}
		})
	}
	run("append", func() error {
		for range 8 { // 2h: a head compaction each round
			if err := st.appendStep(st.now.Load() + stressStep); err != nil {
				return err
			}
		}
		return nil
	})
	run("compact", func() error { return st.s.Compact(ctx) })
	run("delete", func() error {
		// In the head only: upstream's Block.Delete writes the block's
		// meta unguarded, which its own DB.Querier reads (a race the
		// detector reports without any cache); blocks' deletes wait for
		// the barrier below.
		if len(deletable) == 0 {
			return nil
		}
		return st.db.Head().Delete(ctx, math.MinInt64, math.MaxInt64, st.podsMatcher(deletable, 3))
	})
	for r := range 2 {
		rng := rand.New(rand.NewPCG(uint64(round), uint64(r)))
		run(fmt.Sprint("reader ", r), func() error {
			for range 10 {
				if err := st.boundedRead(randomStressQuery(rng, st.start, st.now.Load())); err != nil {
					return err
				}
			}
			return nil
		})
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	require.NoError(t, errors.Join(all...))

	// Deletes in blocks (and the head), writers and readers stopped.
	if len(deletable) > 0 {
		require.NoError(t, st.db.Delete(ctx, math.MinInt64, math.MaxInt64, st.podsMatcher(deletable, 6)))
		if round%4 == 3 {
			require.NoError(t, st.db.CleanTombstones())
		}
	}

	for range 12 {
		q := randomStressQuery(st.rng, st.start, st.now.Load())
		for ask := range 2 {
			want, err := q.ask(st.db.Querier)
			require.NoError(t, err)
			got, err := q.ask(st.s.Querier)
			require.NoError(t, err)
			require.Equal(t, len(want), len(got), "round %d, ask %d: %s", round, ask+1, q)
			if len(want) > 0 {
				require.Equal(t, want, got, "round %d, ask %d: %s", round, ask+1, q)
			}
		}
	}
}

// podsMatcher matches the last n pods of retired.
func (st *stress) podsMatcher(retired []string, n int) *labels.Matcher {
	return labels.MustNewMatcher(labels.MatchRegexp, "pod", strings.Join(retired[max(0, len(retired)-n):], "|"))
}

// boundedRead asks the cache while the writers run and checks its answer
// against the DB's just before and just after.
func (st *stress) boundedRead(q stressQuery) error {
	before, err := q.ask(st.db.Querier)
	if err != nil {
		return err
	}
	from := int(st.appended.Load())
	got, err := q.ask(st.s.Querier)
	if err != nil {
		return err
	}
	to := int(st.announced.Load())
	after, err := q.ask(st.db.Querier)
	if err != nil {
		return err
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		return fmt.Errorf("%s: answer not sorted and unique: %v", q, got)
	}
	if q.limit > 0 {
		// Each answer is any limit of the values: only its size is known.
		if len(got) > q.limit {
			return fmt.Errorf("%s: %d values over the limit", q, len(got))
		}
		return nil
	}
	may := map[string]bool{}
	for _, v := range append(slices.Clone(before), after...) {
		may[v] = true
	}
	for i := from; i < to; i++ {
		may[fmt.Sprint("p", i)] = true
		may[fmt.Sprint("x", i)] = true
	}
	for _, v := range got {
		if !may[v] {
			return fmt.Errorf("%s: %q is in neither the DB's answer before (%v) nor after (%v), nor of a series created meanwhile", q, v, before, after)
		}
	}
	for _, v := range before {
		if _, ok := slices.BinarySearch(after, v); ok {
			if _, ok := slices.BinarySearch(got, v); !ok {
				return fmt.Errorf("%s: %q missing; the DB had it before and after: %v", q, v, got)
			}
		}
	}
	return nil
}
