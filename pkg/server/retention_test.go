package server_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/server"
)

// The --storage.tsdb.retention.size flag holds when prometheus.yml sets no
// size, at start and after every reload, on disk and in memory; a size in
// the file wins, as in Prometheus.
func TestRetentionSizeFlagSurvivesReload(t *testing.T) {
	for name, path := range map[string]string{"disk": t.TempDir(), "memory": ""} {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, serverConfig{
				prometheusYML: "global: {}\n",
				options: func(o *server.Options) {
					o.StoragePath = path
					o.RetentionSize = 512 << 20
				},
			})
			_, metrics := ts.get("/metrics")
			require.Contains(t, metrics, "prometheus_tsdb_retention_limit_bytes 5.36870912e+08")
			require.NoError(t, ts.Reload(context.Background()))
			_, metrics = ts.get("/metrics")
			require.Contains(t, metrics, "prometheus_tsdb_retention_limit_bytes 5.36870912e+08", "the reload kept the flag's size")
			_, r := ts.api("/api/v1/status/runtimeinfo")
			// Then where samples are held, which Prometheus has no key for.
			require.Regexp(t, `"storageRetention":"(1d or 512MiB \(RAM-backed files in /dev/shm/[^"]+\)|15d or 512MiB \(disk in /[^"]+\))"`, string(r.Data))

			writeFile(t, ts.Dir, "prometheus.yml", "storage:\n  tsdb:\n    retention:\n      size: 1GB\n")
			require.NoError(t, ts.Reload(context.Background()))
			_, metrics = ts.get("/metrics")
			require.Contains(t, metrics, "prometheus_tsdb_retention_limit_bytes 1.073741824e+09", "the file's size wins")
		})
	}
}
