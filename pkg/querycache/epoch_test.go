package querycache

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/stretchr/testify/require"
)

// loadingStorage is a TSDB that loads a block, with a series no append
// told the tracker about, when its blocks are listed for the load-th time.
type loadingStorage struct {
	w           *world
	calls, load int
	loaded      bool
}

func (s *loadingStorage) StartTime() (int64, error) { return s.w.db.StartTime() }

func (s *loadingStorage) BlockMetas() ([]tsdb.BlockMeta, error) {
	s.calls++
	if s.calls == s.load {
		app := s.w.db.Appender(context.Background())
		_, err := app.Append(0, labels.FromStrings("__name__", "temperature", "job", "block"), s.w.now-45*time.Minute.Milliseconds(), 1)
		require.NoError(s.w.t, err)
		require.NoError(s.w.t, app.Commit())
		s.loaded = true
		return nil, nil // right after this look
	}
	if !s.loaded {
		return nil, nil
	}
	m := tsdb.BlockMeta{MinTime: s.w.now - time.Hour.Milliseconds(), MaxTime: s.w.now - 40*time.Minute.Milliseconds()}
	m.ULID[0] = 1
	return []tsdb.BlockMeta{m}, nil
}

// The epoch is read again after the steps are evaluated: a block storage
// loaded while the query ran, which the evaluated steps saw, keeps the
// cached steps from being served with them.
func TestEpochReadAfterEvaluation(t *testing.T) {
	w := newWorld(t, 1, worldOptions{})
	st := &loadingStorage{w: w, load: -1}
	w.cached = NewEngine(w.plain, Options{
		MaxBytes:      64 << 20,
		LookbackDelta: testLookback,
		Tracker:       w.tracker,
		Parser:        parser.NewParser(parser.Options{}),
		Storage:       st,
	})
	step := time.Minute
	end := w.now - 30*time.Minute.Milliseconds()
	end -= end % step.Milliseconds()
	start := end - 30*time.Minute.Milliseconds()
	require.Empty(t, w.compare("temperature", start, end, step))
	st.load = st.calls + 1 // the look before evaluating
	require.Empty(t, w.compare("temperature", start, end+10*time.Minute.Milliseconds(), step))
	require.Equal(t, 1.0, queriesCounted(w.cached, resultBypass), "answered by the engine: the epoch changed")
}

// epochOf says the engine gets series in label order exactly when
// tsdb.DB.Querier's choice of blocks and head gives them so: the cache
// relies on this copy of upstream's choice, and an upgrade that changes
// it fails here.
func TestEpochKnowsTheQueriersSeriesOrder(t *testing.T) {
	opts := tsdb.DefaultOptions()
	opts.MinBlockDuration = (30 * time.Minute).Milliseconds()
	opts.MaxBlockDuration = opts.MinBlockDuration
	db, err := tsdb.Open(t.TempDir(), nil, nil, opts, nil)
	require.NoError(t, err)
	defer db.Close()
	db.DisableCompactions()
	// b is created before a: the head holds them in that order.
	const minute = int64(60_000)
	for ts := int64(0); ts <= 120*minute; ts += minute / 4 {
		app := db.Appender(context.Background())
		for _, name := range []string{"b", "a"} {
			_, err := app.Append(0, labels.FromStrings("__name__", name), ts, 1)
			require.NoError(t, err)
		}
		require.NoError(t, app.Commit())
	}
	require.NoError(t, db.Compact(context.Background()))
	require.NotEmpty(t, db.Blocks())

	orders := map[bool]int{}
	for mint := int64(-10) * minute; mint <= 130*minute; mint += 7 * minute {
		for maxt := mint; maxt <= 130*minute; maxt += 11 * minute {
			q, err := db.Querier(mint, maxt)
			require.NoError(t, err)
			var names []string
			ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
			for ss.Next() {
				names = append(names, ss.At().Labels().Get("__name__"))
			}
			require.NoError(t, ss.Err())
			require.NoError(t, q.Close())
			if len(names) < 2 {
				continue
			}
			ep, err := epochOf(NewTracker(0, nil, nil), dbStorage{db}, mint, maxt)
			require.NoError(t, err)
			require.Equal(t, names[0] == "a", ep.labelOrder, "[%d, %d]: %v", mint, maxt, names)
			orders[ep.labelOrder]++
		}
	}
	require.Positive(t, orders[true], "ranges reading blocks")
	require.Positive(t, orders[false], "ranges reading the head alone")
}
