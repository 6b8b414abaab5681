package storage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/storage/storagetest"
)

// The cached label lookups answer exactly as the DB's own querier, over
// random ranges, matchers and limits, before and after the data moves into
// new blocks and series come and go.
func TestLabelCacheMatchesDB(t *testing.T) {
	s, err := Open(promslog.NewNopLogger(), nil, Options{MemoryDir: storagetest.MemoryDir(t), Retention: 30 * 24 * time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	db := s.b.(*dbBackend).DB

	start := time.Now().Add(-12 * time.Hour).Truncate(2 * time.Hour).UnixMilli()
	rng := rand.New(rand.NewPCG(1, 2))
	write := func(from, to int64) {
		app := s.Appender(context.Background())
		for ts := from; ts < to; ts += 60_000 {
			for i := range 30 {
				if rng.IntN(4) == 0 { // series come and go
					continue
				}
				l := labels.FromStrings("__name__", fmt.Sprintf("m%d", i%3), "pod", fmt.Sprintf("p%d", (i+int(ts/3_600_000))%40), "zone", fmt.Sprintf("z%d", i%4))
				_, err := app.Append(0, l, ts, float64(ts))
				require.NoError(t, err)
			}
		}
		require.NoError(t, app.Commit())
	}
	matchers := [][]*labels.Matcher{
		nil,
		{labels.MustNewMatcher(labels.MatchEqual, "__name__", "m1")},
		{labels.MustNewMatcher(labels.MatchRegexp, "zone", "z[12]")},
		{labels.MustNewMatcher(labels.MatchNotEqual, "pod", "p3"), labels.MustNewMatcher(labels.MatchEqual, "__name__", "m2")},
	}
	check := func() {
		t.Helper()
		ctx := context.Background()
		end := db.Head().MaxTime()
		for range 200 {
			mint := start + rng.Int64N(end-start+3_600_000) - 1_800_000
			maxt := mint + rng.Int64N(end-mint+3_600_000)
			ms := matchers[rng.IntN(len(matchers))]
			hints := &storage.LabelHints{Limit: []int{0, 0, 3, 17}[rng.IntN(4)]}
			// Closed before a failure stops the test: the DB's Close waits
			// for open queriers.
			cached, err := s.Querier(mint, maxt)
			require.NoError(t, err)
			defer cached.Close()
			direct, err := db.Querier(mint, maxt)
			require.NoError(t, err)
			defer direct.Close()
			for _, name := range []string{"pod", "zone", "__name__", "absent"} {
				got, _, err := cached.LabelValues(ctx, name, hints, ms...)
				require.NoError(t, err)
				want, _, err := direct.LabelValues(ctx, name, hints, ms...)
				require.NoError(t, err)
				require.Equal(t, len(want), len(got), "values of %s in [%d, %d] %v", name, mint, maxt, ms)
				if len(want) > 0 {
					require.Equal(t, want, got)
				}
			}
			got, _, err := cached.LabelNames(ctx, hints, ms...)
			require.NoError(t, err)
			want, _, err := direct.LabelNames(ctx, hints, ms...)
			require.NoError(t, err)
			require.Equal(t, len(want), len(got))
			if len(want) > 0 {
				require.Equal(t, want, got)
			}
		}
	}
	write(start, start+8*3_600_000)
	require.NoError(t, s.Compact(context.Background()))
	require.NotEmpty(t, db.Blocks())
	check()
	write(start+8*3_600_000, start+12*3_600_000)
	require.NoError(t, s.Compact(context.Background()))
	check()
	// New series alone, no compaction (the head spans less than 3h): the
	// answers cached above must not outlive them.
	write(start+12*3_600_000, start+12*3_600_000+30*60_000)
	check()
}

// A deletion is announced before the head takes the series out of its
// postings: until they no longer hold it, the head's state is not settled.
func TestHeadGenWaitsForDeletedPostings(t *testing.T) {
	s, err := Open(promslog.NewNopLogger(), nil, Options{MemoryDir: storagetest.MemoryDir(t), Retention: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	b := s.b.(*dbBackend)
	app := s.Appender(context.Background())
	ref, err := app.Append(0, labels.FromStrings("__name__", "up", "pod", "a"), time.Now().UnixMilli(), 1)
	require.NoError(t, err)
	require.NoError(t, app.Commit())

	ctx := context.Background()
	n, ok := b.head.gens.settled(ctx, b.Head())
	require.True(t, ok)
	b.head.gens.PostDeletion(map[chunks.HeadSeriesRef]labels.Labels{chunks.HeadSeriesRef(ref): labels.EmptyLabels()})
	m, ok := b.head.gens.settled(ctx, b.Head())
	require.False(t, ok, "the series is still in the postings")
	require.Greater(t, m, n)
	b.head.gens.PostDeletion(map[chunks.HeadSeriesRef]labels.Labels{1 << 40: labels.EmptyLabels()})
	_, ok = b.head.gens.settled(ctx, b.Head())
	require.False(t, ok, "one deletion done, the other not")
}

// The head's sorted values are reused while its series stay the same and
// follow it as soon as a series with a new value arrives.
func TestHeadLabelValuesFollowNewSeries(t *testing.T) {
	s, err := Open(promslog.NewNopLogger(), nil, Options{MemoryDir: storagetest.MemoryDir(t), Retention: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	cache := s.b.(*dbBackend).head
	now := time.Now().UnixMilli()
	add := func(pods ...string) {
		app := s.Appender(context.Background())
		for _, p := range pods {
			_, err := app.Append(0, labels.FromStrings("__name__", "up", "pod", p), now, 1)
			require.NoError(t, err)
		}
		require.NoError(t, app.Commit())
	}
	values := func() []string {
		q, err := s.Querier(now-60_000, now+60_000)
		require.NoError(t, err)
		defer q.Close()
		vals, _, err := q.LabelValues(context.Background(), "pod", nil)
		require.NoError(t, err)
		return vals
	}

	add("p3", "p1", "p2")
	require.Equal(t, []string{"p1", "p2", "p3"}, values())
	require.Equal(t, []string{"p1", "p2", "p3"}, values())
	require.Equal(t, 1.0, testutil.ToFloat64(cache.hits))
	add("p0")
	require.Equal(t, []string{"p0", "p1", "p2", "p3"}, values())
	require.Equal(t, 2.0, testutil.ToFloat64(cache.misses))

	// Under a matcher on another label the head answers from its postings,
	// cached while no series comes or goes.
	up := labels.MustNewMatcher(labels.MatchEqual, "__name__", "up")
	matched := func() ([]string, []string) {
		q, err := s.Querier(now-60_000, now+60_000)
		require.NoError(t, err)
		defer q.Close()
		vals, _, err := q.LabelValues(context.Background(), "pod", nil, up)
		require.NoError(t, err)
		names, _, err := q.LabelNames(context.Background(), nil, up)
		require.NoError(t, err)
		return vals, names
	}
	vals, names := matched()
	require.Equal(t, []string{"p0", "p1", "p2", "p3"}, vals)
	require.Equal(t, []string{"__name__", "pod"}, names)
	hits := testutil.ToFloat64(cache.hits)
	matched()
	require.Equal(t, hits+2, testutil.ToFloat64(cache.hits))
	add("p4")
	vals, _ = matched()
	require.Equal(t, []string{"p0", "p1", "p2", "p3", "p4"}, vals)
}

// BenchmarkHeadLabelValues asks a 1,000-value label of 100k head series, as
// a dashboard variable does; "direct" is the DB's own querier (Prometheus),
// "nohead" the cached querier with the head cache off
// (Options.NoHeadLabelCache).
func BenchmarkHeadLabelValues(b *testing.B) {
	open := func(noHead bool) *Storage {
		s, err := Open(promslog.NewNopLogger(), nil, Options{MemoryDir: storagetest.MemoryDir(b), Retention: time.Hour, NoHeadLabelCache: noHead})
		require.NoError(b, err)
		b.Cleanup(func() { s.Close() })
		return s
	}
	s, noHead := open(false), open(true)
	now := time.Now().UnixMilli()
	for _, s := range []*Storage{s, noHead} {
		app := s.Appender(context.Background())
		for i := range 100_000 {
			l := labels.FromStrings("__name__", "x", "instance", fmt.Sprintf("host-%d", i%1000), "series", fmt.Sprint(i))
			_, err := app.Append(0, l, now, 1)
			require.NoError(b, err)
		}
		require.NoError(b, app.Commit())
	}
	db := s.b.(*dbBackend).DB
	x := labels.MustNewMatcher(labels.MatchEqual, "__name__", "x")
	for name, open := range map[string]func(int64, int64) (storage.Querier, error){"cached": s.Querier, "direct": db.Querier, "nohead": noHead.Querier} {
		for match, ms := range map[string][]*labels.Matcher{"": nil, "/match": {x}} {
			b.Run(name+match, func(b *testing.B) {
				for b.Loop() {
					q, err := open(now-60_000, now+60_000)
					require.NoError(b, err)
					vals, _, err := q.LabelValues(context.Background(), "instance", nil, ms...)
					require.NoError(b, err)
					require.Len(b, vals, 1000)
					q.Close()
				}
			})
		}
	}
}

// BenchmarkAnswerCopy is what handing out a copy of a cached answer costs:
// 1,000 label values.
func BenchmarkAnswerCopy(b *testing.B) {
	vals := make([]string, 1000)
	for i := range vals {
		vals[i] = fmt.Sprintf("host-%d", i)
	}
	for b.Loop() {
		_ = slices.Clone(vals)
	}
}

// Upstream's search API (--enable-feature=search-api) answers only from a
// storage.Searcher, which the DB's querier always is: the cached querier
// must be one too, and answer as the DB's does.
func TestLabelQuerierSearches(t *testing.T) {
	s, err := Open(promslog.NewNopLogger(), nil, Options{MemoryDir: storagetest.MemoryDir(t), Retention: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	now := time.Now().UnixMilli()
	app := s.Appender(context.Background())
	for _, p := range []string{"b", "a", "c"} {
		_, err := app.Append(0, labels.FromStrings("__name__", "up", "pod", p), now, 1)
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())
	q, err := s.Querier(now-60_000, now+60_000)
	require.NoError(t, err)
	defer q.Close()
	searcher, ok := q.(storage.Searcher)
	require.True(t, ok, "the cached querier is no storage.Searcher")
	collect := func(rs storage.SearchResultSet) []string {
		defer rs.Close()
		var vals []string
		for rs.Next() {
			vals = append(vals, rs.At().Value)
		}
		require.NoError(t, rs.Err())
		return vals
	}
	up := labels.MustNewMatcher(labels.MatchEqual, "__name__", "up")
	require.Equal(t, []string{"a", "b", "c"}, collect(searcher.SearchLabelValues(context.Background(), "pod", &storage.SearchHints{}, up)))
	require.Equal(t, []string{"__name__", "pod"}, collect(searcher.SearchLabelNames(context.Background(), &storage.SearchHints{})))
}

// While the head is truncated after a compaction (the truncation waits for
// queries reading the part it drops), the DB's querier leaves the head out of
// a range wholly before the truncation point: the new block answers for it.
// The cached querier must not add the head's series that came later.
func TestLabelCacheDuringHeadTruncation(t *testing.T) {
	s, err := Open(promslog.NewNopLogger(), nil, Options{MemoryDir: storagetest.MemoryDir(t), Retention: 30 * 24 * time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	db := s.b.(*dbBackend).DB
	start := time.Now().Add(-12 * time.Hour).Truncate(2 * time.Hour).UnixMilli()
	app := s.Appender(context.Background())
	for ts := start; ts < start+4*3_600_000; ts += 60_000 {
		l := labels.FromStrings("__name__", "up", "pod", "early")
		if ts >= start+2*3_600_000 {
			l = labels.FromStrings("__name__", "up", "pod", "late", "late", "yes")
		}
		_, err := app.Append(0, l, ts, 1)
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())

	// An open query over the first hour holds the truncation back.
	mint, maxt := start, start+60_000
	holder, err := db.Querier(mint, maxt)
	require.NoError(t, err)
	compacted := make(chan error, 1)
	go func() { compacted <- s.Compact(context.Background()) }()
	t.Cleanup(func() {
		holder.Close()
		require.NoError(t, <-compacted)
	})
	require.Eventually(t, func() bool {
		drop, _, _ := db.Head().IsQuerierCollidingWithTruncation(mint, maxt)
		return drop
	}, 10*time.Second, 10*time.Millisecond)

	ctx := context.Background()
	up := labels.MustNewMatcher(labels.MatchEqual, "__name__", "up")
	for _, ms := range [][]*labels.Matcher{nil, {up}} {
		for range 2 { // computed, then from the cache
			cached, err := s.Querier(mint, maxt)
			require.NoError(t, err)
			direct, err := db.Querier(mint, maxt)
			require.NoError(t, err)
			want, _, err := direct.LabelValues(ctx, "pod", nil, ms...)
			require.NoError(t, err)
			require.Equal(t, []string{"early"}, want)
			got, _, err := cached.LabelValues(ctx, "pod", nil, ms...)
			require.NoError(t, err)
			wantNames, _, err := direct.LabelNames(ctx, nil, ms...)
			require.NoError(t, err)
			gotNames, _, err := cached.LabelNames(ctx, nil, ms...)
			require.NoError(t, err)
			cached.Close()
			direct.Close()
			require.Equal(t, want, got, "values under %v", ms)
			require.Equal(t, wantNames, gotNames, "names under %v", ms)
		}
	}
}

// A compaction between listing the blocks and reading the head moves the
// head's early series into a block the list does not hold, and drops them
// from the head: the answer must still have them, as the DB's has.
func TestLabelCacheCompactionBetweenBlocksAndHead(t *testing.T) {
	s, err := Open(promslog.NewNopLogger(), nil, Options{MemoryDir: storagetest.MemoryDir(t), Retention: 30 * 24 * time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	b := s.b.(*dbBackend)
	start := time.Now().Add(-12 * time.Hour).Truncate(2 * time.Hour).UnixMilli()
	up := labels.MustNewMatcher(labels.MatchEqual, "__name__", "up")
	ctx := context.Background()
	for i, ms := range [][]*labels.Matcher{nil, {up}} {
		// Each round fills a fresh 4h for the compaction to cut in two.
		from := start + int64(i)*4*3_600_000
		app := s.Appender(ctx)
		for ts := from; ts < from+4*3_600_000; ts += 60_000 {
			l := labels.FromStrings("__name__", "up", "pod", fmt.Sprint("early", i))
			if ts >= from+2*3_600_000 {
				l = labels.FromStrings("__name__", "up", "pod", fmt.Sprint("late", i))
			}
			_, err := app.Append(0, l, ts, 1)
			require.NoError(t, err)
		}
		require.NoError(t, app.Commit())

		mint, maxt := from, from+60_000
		q, err := b.Querier(mint, maxt)
		require.NoError(t, err)
		lq := q.(*labelQuerier)
		lq.afterView = func() {
			lq.afterView = nil
			require.NoError(t, s.Compact(ctx))
		}
		got, _, err := lq.LabelValues(ctx, "pod", nil, ms...)
		require.NoError(t, err)
		require.NoError(t, q.Close())
		direct, err := b.DB.Querier(mint, maxt)
		require.NoError(t, err)
		want, _, err := direct.LabelValues(ctx, "pod", nil, ms...)
		require.NoError(t, err)
		require.NoError(t, direct.Close())
		require.Equal(t, []string{fmt.Sprint("early", i)}, want)
		require.Equal(t, want, got, "values under %v", ms)
	}
}

// Deletions done are dropped from the pending list as they come, so it does
// not grow while no label lookup under matchers asks whether they are done.
func TestHeadGenPendingStaysBounded(t *testing.T) {
	s, err := Open(promslog.NewNopLogger(), nil, Options{MemoryDir: storagetest.MemoryDir(t), Retention: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	g := s.b.(*dbBackend).head.gens
	for i := range 100_000 {
		// References the head never held: deletions already done.
		g.PostDeletion(map[chunks.HeadSeriesRef]labels.Labels{chunks.HeadSeriesRef(1<<40 + i): labels.EmptyLabels()})
	}
	g.mu.Lock()
	require.Less(t, len(g.pending), 2*pendingSlack)
	g.mu.Unlock()

	// A gc deleting thousands of series prunes as it announces them, and
	// the head's answers follow it.
	start := time.Now().Add(-6 * time.Hour).Truncate(2 * time.Hour).UnixMilli()
	app := s.Appender(context.Background())
	for i := range 5000 {
		_, err := app.Append(0, labels.FromStrings("__name__", "up", "pod", fmt.Sprint("p", i)), start, 1)
		require.NoError(t, err)
	}
	_, err = app.Append(0, labels.FromStrings("__name__", "up", "pod", "late"), start+4*3_600_000, 1)
	require.NoError(t, err)
	require.NoError(t, app.Commit())
	up := labels.MustNewMatcher(labels.MatchEqual, "__name__", "up")
	ctx := context.Background()
	values := func() []string {
		q, err := s.Querier(start+3*3_600_000, start+5*3_600_000)
		require.NoError(t, err)
		defer q.Close()
		vals, _, err := q.LabelValues(ctx, "pod", nil, up)
		require.NoError(t, err)
		return vals
	}
	require.Len(t, values(), 5001)
	require.NoError(t, s.Compact(ctx))
	require.Equal(t, []string{"late"}, values())
}

// A block's label values point into its memory-mapped index, which is
// unmapped when the block goes (compaction, retention, clean tombstones).
// The DB's querier keeps its blocks open until it is closed; a cached answer
// keeps no block open, so it must hold copies: read after its block went, it
// would fault.
func TestLabelCacheOutlivesBlocks(t *testing.T) {
	s, err := Open(promslog.NewNopLogger(), nil, Options{MemoryDir: storagetest.MemoryDir(t), Retention: 30 * 24 * time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	db := s.b.(*dbBackend).DB
	start := time.Now().Add(-12 * time.Hour).Truncate(2 * time.Hour).UnixMilli()
	ctx := context.Background()
	app := s.Appender(ctx)
	for ts := start; ts < start+4*3_600_000; ts += 60_000 {
		for _, p := range []string{"gone", "kept"} {
			_, err := app.Append(0, labels.FromStrings("__name__", "up", "pod", p), ts, 1)
			require.NoError(t, err)
		}
	}
	require.NoError(t, app.Commit())
	require.NoError(t, s.Compact(ctx))
	require.Len(t, db.Blocks(), 1)
	old := db.Blocks()[0].Meta().ULID

	mint, maxt := start, start+60_000
	var got [][]string
	up := labels.MustNewMatcher(labels.MatchEqual, "__name__", "up")
	for _, ms := range [][]*labels.Matcher{nil, {up}} {
		for range 2 { // computed, then from the cache
			q, err := s.Querier(mint, maxt)
			require.NoError(t, err)
			vals, _, err := q.LabelValues(ctx, "pod", nil, ms...)
			require.NoError(t, err)
			require.NoError(t, q.Close())
			got = append(got, vals)
		}
	}
	// Rewriting the block without the deleted series closes the old one.
	require.NoError(t, db.Delete(ctx, mint, maxt, labels.MustNewMatcher(labels.MatchEqual, "pod", "gone")))
	require.NoError(t, db.CleanTombstones())
	require.NotEqual(t, old, db.Blocks()[0].Meta().ULID)

	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	read := func(vals []string) (joined string, fault any) {
		defer func() { fault = recover() }()
		return strings.Join(vals, ","), nil
	}
	for _, vals := range got {
		joined, fault := read(vals)
		require.Nil(t, fault, "an answer read after its block was closed")
		require.Equal(t, "gone,kept", joined)
	}
}

// Every answer is the caller's: writing into one, as a caller filtering or
// re-sorting it in place may, changes no later answer, whichever part of
// the cache (blocks, the head's postings or its sorted values) it came from.
func TestLabelCacheAnswersAreCopies(t *testing.T) {
	s, err := Open(promslog.NewNopLogger(), nil, Options{MemoryDir: storagetest.MemoryDir(t), Retention: 30 * 24 * time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	start := time.Now().Add(-12 * time.Hour).Truncate(2 * time.Hour).UnixMilli()
	ctx := context.Background()
	app := s.Appender(ctx)
	for ts := start; ts < start+4*3_600_000; ts += 60_000 {
		for _, p := range []string{"a", "b", "c"} {
			_, err := app.Append(0, labels.FromStrings("__name__", "up", "pod", p), ts, 1)
			require.NoError(t, err)
		}
	}
	require.NoError(t, app.Commit())
	require.NoError(t, s.Compact(ctx))
	require.NotEmpty(t, s.b.(*dbBackend).Blocks())

	up := labels.MustNewMatcher(labels.MatchEqual, "__name__", "up")
	for name, r := range map[string][2]int64{"blocks": {start, start + 60_000}, "head": {start + 3*3_600_000, start + 4*3_600_000}, "both": {start, start + 4*3_600_000}} {
		for _, ms := range [][]*labels.Matcher{nil, {up}} {
			for i := range 3 { // computed, then from the cache twice
				q, err := s.Querier(r[0], r[1])
				require.NoError(t, err)
				vals, _, err := q.LabelValues(ctx, "pod", nil, ms...)
				require.NoError(t, err)
				names, _, err := q.LabelNames(ctx, nil, ms...)
				require.NoError(t, err)
				require.NoError(t, q.Close())
				require.Equal(t, []string{"a", "b", "c"}, vals, "%s under %v, asked %d times", name, ms, i+1)
				require.Equal(t, []string{"__name__", "pod"}, names, "%s under %v, asked %d times", name, ms, i+1)
				vals[0], names[0] = "overwritten", "overwritten"
			}
		}
	}
	hits := s.b.(*dbBackend).blocks.hits
	require.Positive(t, testutil.ToFloat64(hits))
	require.Positive(t, testutil.ToFloat64(s.b.(*dbBackend).head.hits))
}
