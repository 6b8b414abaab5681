package storage_test

import (
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/promql/promqltest"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/storage"
)

// TestUpstreamPromQLSuite runs the PromQL acceptance tests that ship with the
// prometheus module against the in-memory storage. The suite loads samples
// hours older than ones already loaded, which a TSDB with 2h blocks refuses
// as out of bounds (as Prometheus's would); the heap-held head accepts
// them across its whole retention, and runs the same engine and chunks.
func TestUpstreamPromQLSuite(t *testing.T) {
	engine := promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery)
	promqltest.RunBuiltinTestsWithStorage(t, engine, func(tb testing.TB) promstorage.Storage {
		s, err := storage.Open(promslog.NewNopLogger(), nil, storage.Options{
			MemoryDir:       storage.MemoryDirHeap,
			TempDir:         tb.TempDir(),
			Retention:       100 * 365 * 24 * time.Hour,
			MaxExemplars:    1e5,
			StartTimestamps: true,
		})
		require.NoError(tb, err)
		return s
	})
}
