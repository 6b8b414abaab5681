package storage_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/storage"
)

// BenchmarkRetentionPlateau appends 1,000 series at a 15s interval over 16
// simulated hours with 1h retention, dropping expired samples every
// simulated minute as the retention loop does, and reports the live heap
// after each simulated 2 hours: with a steady series count it levels off
// instead of growing with time.
//
//	go test -run '^$' -bench RetentionPlateau ./pkg/storage
func BenchmarkRetentionPlateau(b *testing.B) {
	const series, interval = 1000, 15 * time.Second
	lsets := make([]labels.Labels, series)
	for i := range lsets {
		lsets[i] = labels.FromStrings("__name__", "bench_metric", "instance", fmt.Sprint(i))
	}
	for range b.N {
		s, err := storage.Open(promslog.NewNopLogger(), nil, storage.Options{Retention: time.Hour, MemoryDir: storage.MemoryDirHeap, TempDir: b.TempDir()})
		require.NoError(b, err)
		start := time.Unix(1_700_000_000, 0)
		for step := 0; step < int(16*time.Hour/interval); step++ {
			ts := start.Add(time.Duration(step) * interval)
			app := s.Appender(context.Background())
			for _, l := range lsets {
				_, err := app.Append(0, l, ts.UnixMilli(), float64(step))
				require.NoError(b, err)
			}
			require.NoError(b, app.Commit())
			if step%4 == 0 { // every simulated minute
				require.NoError(b, s.Compact(context.Background()))
			}
			if elapsed := ts.Sub(start) + interval; elapsed%(2*time.Hour) == 0 {
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				b.ReportMetric(float64(m.HeapInuse)/(1<<20), fmt.Sprintf("MiB-heap-at-%dh", int(elapsed.Hours())))
			}
		}
		require.NoError(b, s.Close())
	}
}
