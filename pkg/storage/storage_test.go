package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/storage"
)

func openTest(t *testing.T, o storage.Options) *storage.Storage {
	t.Helper()
	if o.TempDir == "" {
		o.TempDir = t.TempDir()
	}
	s, err := storage.Open(promslog.NewNopLogger(), nil, o)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func countSamples(t *testing.T, s *storage.Storage) int {
	t.Helper()
	q, err := s.Querier(0, time.Now().Add(time.Hour).UnixMilli())
	require.NoError(t, err)
	defer q.Close()
	set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "m"))
	n := 0
	for set.Next() {
		it := set.At().Iterator(nil)
		for it.Next() != 0 {
			n++
		}
	}
	require.NoError(t, set.Err())
	return n
}

func TestRetentionDropsOldSamples(t *testing.T) {
	s := openTest(t, storage.Options{Retention: time.Hour})
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Minute)

	// 3h of samples at 15s, one series: the first two hours are past retention.
	app := s.Appender(context.Background())
	for ts := start; ts.Before(start.Add(3 * time.Hour)); ts = ts.Add(15 * time.Second) {
		_, err := app.Append(0, labels.FromStrings("__name__", "m"), ts.UnixMilli(), 1)
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())
	require.Equal(t, 720, countSamples(t, s))

	require.NoError(t, s.Truncate(start.Add(2*time.Hour).UnixMilli()))
	// Whole chunks (120 samples = 30m here) are dropped; the last hour stays.
	got := countSamples(t, s)
	require.GreaterOrEqual(t, got, 240)
	require.Less(t, got, 720)
	require.GreaterOrEqual(t, s.Head().MinTime(), start.Add(2*time.Hour).UnixMilli())
}

func TestCloseRemovesTempState(t *testing.T) {
	parent := t.TempDir()
	s, err := storage.Open(promslog.NewNopLogger(), nil, storage.Options{TempDir: parent})
	require.NoError(t, err)
	app := s.Appender(context.Background())
	_, err = app.Append(0, labels.FromStrings("__name__", "m"), time.Now().UnixMilli(), 1)
	require.NoError(t, err)
	require.NoError(t, app.Commit())
	entries, _ := filepath.Glob(filepath.Join(parent, "*"))
	require.Len(t, entries, 1, "one private temp dir while open")

	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")
	left, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Empty(t, left)
}
