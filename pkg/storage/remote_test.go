package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/record"
	"github.com/prometheus/prometheus/tsdb/wlog"
	"github.com/stretchr/testify/require"

	mpstorage "github.com/miniprom/miniprom/pkg/storage"
	"github.com/miniprom/miniprom/pkg/storage/storagetest"
)

func appendOne(t *testing.T, s *mpstorage.Storage, name string, ts int64, v float64) {
	t.Helper()
	app := s.AppenderV2(context.Background())
	_, err := app.Append(0, labels.FromStrings("__name__", name), 0, ts, v, nil, nil, storage.AOptions{})
	require.NoError(t, err)
	require.NoError(t, app.Commit())
}

// walSamples decodes the remote write WAL: each sample's value by its
// series' metric name.
func walSamples(t *testing.T, dir string) map[string][]float64 {
	t.Helper()
	sr, err := wlog.NewSegmentsReader(dir)
	require.NoError(t, err)
	defer sr.Close()
	r := wlog.NewReader(sr)
	dec := record.NewDecoder(labels.NewSymbolTable(), promslog.NewNopLogger())
	names := map[uint64]string{}
	out := map[string][]float64{}
	for r.Next() {
		rec := r.Record()
		switch dec.Type(rec) {
		case record.Series:
			series, err := dec.Series(rec, nil)
			require.NoError(t, err)
			for _, s := range series {
				names[uint64(s.Ref)] = s.Labels.Get("__name__")
			}
		case record.Samples:
			samples, err := dec.Samples(rec, nil)
			require.NoError(t, err)
			for _, s := range samples {
				out[names[uint64(s.Ref)]] = append(out[names[uint64(s.Ref)]], s.V)
			}
		}
	}
	require.NoError(t, r.Err())
	return out
}

func TestRemoteWriteWAL(t *testing.T) {
	tmp := storagetest.MemoryDir(t)
	s, err := mpstorage.Open(promslog.NewNopLogger(), nil, mpstorage.Options{MemoryDir: tmp, RemoteFlushDeadline: time.Second})
	require.NoError(t, err)
	walDirs := func() []string {
		m, err := filepath.Glob(filepath.Join(tmp, "miniprom-*", "wal"))
		require.NoError(t, err)
		return m
	}
	now := time.Now().UnixMilli()

	// Without remote_write there is no WAL. The head numbers x then y.
	appendOne(t, s, "x", now, 1)
	appendOne(t, s, "y", now, 2)
	require.Empty(t, walDirs())

	cfg, err := config.Load("remote_write:\n  - url: http://127.0.0.1:1/api/v1/write\n", promslog.NewNopLogger())
	require.NoError(t, err)
	require.NoError(t, s.ApplyConfig(cfg))
	require.Len(t, walDirs(), 1)

	// The WAL numbers y then x, the other way round from the head: each
	// sample must still be written under its own series.
	appendOne(t, s, "y", now+1000, 2)
	appendOne(t, s, "x", now+1000, 1)
	appendOne(t, s, "x", now+2000, 1)
	require.Equal(t, map[string][]float64{"y": {2}, "x": {1, 1}}, walSamples(t, walDirs()[0]))

	// Without remote_write, samples stop going to the WAL.
	cfg, err = config.Load("", promslog.NewNopLogger())
	require.NoError(t, err)
	require.NoError(t, s.ApplyConfig(cfg))
	appendOne(t, s, "x", now+3000, 1)
	require.Equal(t, map[string][]float64{"y": {2}, "x": {1, 1}}, walSamples(t, walDirs()[0]))

	// Close removes the WAL with the rest of the private directory.
	require.NoError(t, s.Close())
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, entries)
}
