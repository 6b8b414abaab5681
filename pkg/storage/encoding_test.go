package storage_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/storage"
)

// TestFloatEncoding checks that the float chunk encoding asked for at start
// (xor2-encoding) and by storage.tsdb.chunk_encoding.floats at a reload
// reaches the chunks, with RAM-backed files, in the heap and on disk.
func TestFloatEncoding(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts storage.Options
	}{
		{"ram files", storage.Options{}},
		{"heap", storage.Options{MemoryDir: storage.MemoryDirHeap}},
		{"disk", storage.Options{Path: t.TempDir()}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			o := mode.opts
			o.Retention = 24 * time.Hour
			o.FloatEncoding = chunkenc.EncXOR2
			s := openTest(t, o)
			now := time.Now()
			appendRange(t, s, now.Add(-10*time.Minute), now)
			require.Equal(t, []chunkenc.Encoding{chunkenc.EncXOR2}, encodings(t, s, "m"))

			// The config's field switches new chunks, as in Prometheus.
			cfg := tsdbConfig(24*time.Hour, 0, 0, false)
			cfg.StorageConfig.TSDBConfig.ChunkEncoding.Floats = config.FloatChunkEncodingXOR
			require.NoError(t, s.ApplyConfig(cfg))
			app := s.Appender(context.Background())
			_, err := app.Append(0, labels.FromStrings("__name__", "n"), now.UnixMilli(), 1)
			require.NoError(t, err)
			require.NoError(t, app.Commit())
			require.Equal(t, []chunkenc.Encoding{chunkenc.EncXOR}, encodings(t, s, "n"))

			cfg.StorageConfig.TSDBConfig.ChunkEncoding.Floats = "xor3"
			require.ErrorContains(t, s.ApplyConfig(cfg), "xor3")
		})
	}
}

// encodings lists the distinct encodings of the chunks of metric name. Ten
// minutes of samples make two chunks when they cross a two-hour boundary of
// the head, so the count of chunks depends on the clock.
func encodings(t *testing.T, s *storage.Storage, name string) []chunkenc.Encoding {
	t.Helper()
	q, err := s.ChunkQuerier(0, time.Now().Add(time.Hour).UnixMilli())
	require.NoError(t, err)
	defer q.Close()
	set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", name))
	var encs []chunkenc.Encoding
	for set.Next() {
		it := set.At().Iterator(nil)
		for it.Next() {
			if e := it.At().Chunk.Encoding(); !slices.Contains(encs, e) {
				encs = append(encs, e)
			}
		}
		require.NoError(t, it.Err())
	}
	require.NoError(t, set.Err())
	return encs
}
