package querycache

import (
	"container/list"
	"context"
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/storage/storagetest"
)

// The cache's budget counts what its entries hold in the heap: the points,
// the key, the annotations and the entry itself. Many small answers, each
// with the info rate() gives for a name not ending in _total, are the
// case an estimate of the points alone undercounts most: a dashboard's
// small panels, or a client that adds a comment to every query text.
func TestStoreCountsWhatItHolds(t *testing.T) {
	db, err := tsdb.Open(t.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	end := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tracker := NewTracker(0, func() time.Time { return end.Add(time.Hour) }, nil)
	app := tracker.Appendable(db)
	for ts := end.Add(-time.Hour); !ts.After(end); ts = ts.Add(15 * time.Second) {
		a := app.Appender(context.Background())
		for i := range 10 {
			_, err := a.Append(0, labels.FromStrings("__name__", "requests", "pod", fmt.Sprint(i)), ts.UnixMilli(), float64(ts.Unix()))
			require.NoError(t, err)
		}
		require.NoError(t, a.Commit())
	}
	e := NewEngine(promql.NewEngine(testEngineOpts(math.MaxInt32)), Options{
		MaxBytes: 1 << 30, LookbackDelta: testLookback, Tracker: tracker,
		Storage: dbStorage{db}, Parser: parser.NewParser(parser.Options{}),
	})

	const queries = 3000
	for n := range queries {
		qs := fmt.Sprintf("sum(rate(requests[1m]))\n# panel %d", n)
		qry, err := e.NewRangeQuery(context.Background(), db, nil, qs, end.Add(-10*time.Minute), end, time.Minute)
		require.NoError(t, err)
		res := qry.Exec(context.Background())
		require.NoError(t, res.Err)
		// As the API renders them, which gives the annotations the query.
		_, infos := res.Warnings.AsStrings(qs, 0, 0)
		require.Len(t, infos, 1)
		qry.Close()
	}
	require.Equal(t, queries, e.store.lru.Len(), "every answer is cached")

	withEntries := storagetest.HeapHeld()
	counted := e.store.bytes
	e.store.mu.Lock()
	e.store.lru.Init()
	e.store.byKey = map[string]*list.Element{} // the old table is freed too
	e.store.mu.Unlock()
	freed := withEntries - storagetest.HeapHeld()
	runtime.KeepAlive(e) // its plans and the engine's metrics are not the entries'
	t.Logf("%d entries: %d bytes counted, %d freed when dropped (%d and %d per entry)",
		queries, counted, freed, counted/queries, freed/queries)
	require.GreaterOrEqual(t, counted, freed*9/10, "the budget undercounts what entries hold")
	require.LessOrEqual(t, counted, freed*2, "the budget overcounts what entries hold")
}
