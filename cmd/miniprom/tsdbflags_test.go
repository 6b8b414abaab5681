package main

import (
	"bytes"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// tsdbTuning are TSDB tuning flags a Thanos sidecar setup passes.
var tsdbTuning = []string{
	"--storage.tsdb.no-lockfile",
	"--storage.tsdb.min-block-duration=2h",
	"--storage.tsdb.max-block-duration=2h",
	"--storage.tsdb.wal-compression-type=zstd",
	"--storage.tsdb.wal-segment-size=16MB",
	"--storage.tsdb.delay-compact-file.path=thanos.shipper.json",
}

// On disk the TSDB tuning flags reach the TSDB (the lock file is the effect
// that shows at once) and are not reported as ignored.
func TestTSDBTuningFlagsOnDisk(t *testing.T) {
	data := t.TempDir()
	p := startProc(t, append([]string{"--storage.tsdb.path=" + data}, tsdbTuning...)...)
	require.DirExists(t, filepath.Join(data, "wal"))
	require.NoFileExists(t, filepath.Join(data, "lock"))
	require.Zero(t, p.logs.count("flag=--storage.tsdb."), p.logs.all())
	require.Equal(t, 1, p.logs.count("Compactions will be delayed for blocks not marked as uploaded"), p.logs.all())
}

// In memory they cannot apply: each is logged once as ignored.
func TestTSDBTuningFlagsInMemory(t *testing.T) {
	p := startProc(t, tsdbTuning...)
	for _, f := range tsdbTuning {
		name, _, _ := bytes.Cut([]byte(f), []byte("="))
		require.Equal(t, 1, p.logs.count("flag="+string(name)+" "), p.logs.all())
	}
	require.Contains(t, p.logs.all(), "it tunes the on-disk TSDB")
	require.Zero(t, p.logs.count("Compactions will be delayed"))
}

func TestTSDBTuningFlagsChecked(t *testing.T) {
	for _, tc := range []struct{ flag, want string }{
		{"--storage.tsdb.wal-segment-size=1MB", "flag 'storage.tsdb.wal-segment-size' must be set between 10MB and 256MB"},
		{"--storage.tsdb.max-block-chunk-segment-size=1KB", "flag 'storage.tsdb.max-block-chunk-segment-size' must be set over 1MB"},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := run([]string{
				"--config.file=" + write(t, dir, "prometheus.yml", "scrape_configs: []\n"),
				"--web.listen-address=127.0.0.1:0",
				"--storage.tsdb.path=" + filepath.Join(dir, "data"),
				tc.flag,
			}, &stdout, &stderr)
			require.Equal(t, 1, code)
			require.Contains(t, stderr.String(), tc.want)
		})
	}
}

// memory-snapshot-on-shutdown, a feature of the on-disk TSDB, reaches the
// TSDB: it replays from a snapshot at start and takes one when miniprom
// stops (the TSDB's own log lines say so). In memory it is logged as ignored.
func TestMemorySnapshotOnShutdownFeature(t *testing.T) {
	const feature = "--enable-feature=memory-snapshot-on-shutdown"
	p := startProc(t, "--storage.tsdb.path="+t.TempDir(), feature)
	require.Equal(t, 1, p.logs.count("Chunk snapshot is enabled, replaying from the snapshot"), p.logs.all())
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	<-p.done
	require.NoError(t, p.err, p.logs.all())
	require.Equal(t, 1, p.logs.count("chunk snapshot complete"), p.logs.all())

	mem := startProc(t, feature)
	require.Equal(t, 1, mem.logs.count("in memory it is ignored"), mem.logs.all())
	require.Zero(t, mem.logs.count("Chunk snapshot is enabled"))
}
