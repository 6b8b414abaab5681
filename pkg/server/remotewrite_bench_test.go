package server_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/stretchr/testify/require"

	mpstorage "github.com/miniprom/miniprom/pkg/storage"
)

// BenchmarkRemoteWriteToVictoriaMetrics measures remote write throughput
// (samples/s) from miniprom's storage to a real VictoriaMetrics over TLS with
// basic auth and the default queue_config: 100k series times 10 samples,
// from the first append until the queue reports every sample sent.
func BenchmarkRemoteWriteToVictoriaMetrics(b *testing.B) {
	vm := startVictoriaMetrics(b)
	dir := b.TempDir()
	writeFile(b, dir, "vm-ca.crt", string(vm.caPEM))
	const series, perSeries = 100_000, 10
	for range b.N {
		reg := prometheus.NewRegistry()
		s, err := mpstorage.Open(promslog.NewNopLogger(), reg, mpstorage.Options{TempDir: b.TempDir(), RemoteFlushDeadline: 10 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		cfg, err := config.Load(fmt.Sprintf(`
remote_write:
  - url: https://%s/api/v1/write
    tls_config: {ca_file: %s}
    basic_auth: {username: %s, password: %s}
`, vm.addr, filepath.Join(dir, "vm-ca.crt"), vmUser, vmPassword), promslog.NewNopLogger())
		if err != nil {
			b.Fatal(err)
		}
		if err := s.ApplyConfig(cfg); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		// The queue skips samples older than its own start, as upstream does.
		base := start.UnixMilli() + 1
		for i := range perSeries {
			app := s.AppenderV2(context.Background())
			for j := range series {
				l := labels.FromStrings("__name__", "rw_bench", "instance", "host-"+strconv.Itoa(j%1000), "series", strconv.Itoa(j), "run", strconv.Itoa(b.N))
				if _, err := app.Append(0, l, 0, base+int64(i), float64(j), nil, nil, storage.AOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			if err := app.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		require.Eventually(b, func() bool {
			v, _ := metricValue(reg, "prometheus_remote_storage_samples_total", nil)
			return v >= series*perSeries
		}, 5*time.Minute, 20*time.Millisecond, "not every sample was sent in 5m")
		elapsed := time.Since(start)
		b.ReportMetric(series*perSeries/elapsed.Seconds(), "samples/s")
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/1e6, "heap_after_send_MB")
		s.Close()
	}
}
