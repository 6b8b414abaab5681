package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/storage"
	"github.com/miniprom/miniprom/pkg/storage/storagetest"
)

func openTest(t *testing.T, o storage.Options) *storage.Storage {
	t.Helper()
	if o.MemoryDir == "" && o.Path == "" {
		o.MemoryDir = storagetest.MemoryDir(t)
	}
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

// appendRange appends one sample of series m every 15s in [from, to).
func appendRange(t *testing.T, s *storage.Storage, from, to time.Time) int {
	t.Helper()
	n := 0
	app := s.Appender(context.Background())
	for ts := from; ts.Before(to); ts = ts.Add(15 * time.Second) {
		_, err := app.Append(0, labels.FromStrings("__name__", "m"), ts.UnixMilli(), float64(n))
		require.NoError(t, err)
		n++
	}
	require.NoError(t, app.Commit())
	return n
}

// tsdbConfig is a config with storage.tsdb set as a prometheus.yml would.
func tsdbConfig(retention time.Duration, size int64, ooo time.Duration, exemplars bool) *config.Config {
	cfg := config.DefaultConfig
	cfg.StorageConfig.TSDBConfig = &config.TSDBConfig{
		OutOfOrderTimeWindow: ooo.Milliseconds(),
		Retention:            &config.TSDBRetentionConfig{Time: model.Duration(retention), Size: units.Base2Bytes(size)},
	}
	if exemplars {
		cfg.StorageConfig.ExemplarsConfig = &config.ExemplarsConfig{MaxExemplars: 100}
	}
	return &cfg
}

func TestModes(t *testing.T) {
	require.Equal(t, storage.ModeTmpfs, openTest(t, storage.Options{}).Mode())
	require.Equal(t, storage.ModeHeap, openTest(t, storage.Options{MemoryDir: storage.MemoryDirHeap}).Mode())
	require.Equal(t, storage.ModeDisk, openTest(t, storage.Options{Path: t.TempDir()}).Mode())

	// A directory on a disk is refused, never written to silently, and so
	// is one too small for the retention size asked for; the error says
	// how to mount a RAM-backed one instead of falling back to the heap.
	for name, o := range map[string]storage.Options{
		"on a disk": {MemoryDir: t.TempDir()},
		"too small": {MemoryDir: storagetest.MemoryDir(t), RetentionSize: 1 << 60},
		"missing":   {MemoryDir: filepath.Join(t.TempDir(), "none")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := storage.Open(promslog.NewNopLogger(), nil, o)
			require.Error(t, err)
			for _, advice := range []string{"--storage.memory.dir=" + o.MemoryDir, "--tmpfs " + o.MemoryDir + ":size=",
				"--shm-size", "emptyDir volume with medium: Memory and a sizeLimit", "--storage.memory.dir=heap", "1.8x"} {
				require.ErrorContains(t, err, advice)
			}
			entries, _ := os.ReadDir(o.MemoryDir)
			require.Empty(t, entries, "nothing written")
		})
	}
	_, err := storage.Open(promslog.NewNopLogger(), nil, storage.Options{MemoryDir: t.TempDir()})
	require.ErrorContains(t, err, "is not on a RAM-backed filesystem")
	_, err = storage.Open(promslog.NewNopLogger(), nil, storage.Options{MemoryDir: storagetest.MemoryDir(t), RetentionSize: 1 << 60})
	require.ErrorContains(t, err, "is too small: ")
	require.ErrorContains(t, err, "--storage.tsdb.retention.size is 1EiB")
}

func TestWhere(t *testing.T) {
	tmpfs := openTest(t, storage.Options{})
	require.Equal(t, "RAM-backed files in "+tmpfs.Dir(), tmpfs.Where())
	require.Equal(t, "Go heap, about 1.8x the memory of RAM-backed files", openTest(t, storage.Options{MemoryDir: storage.MemoryDirHeap}).Where())
	disk := t.TempDir()
	require.Equal(t, "disk in "+disk, openTest(t, storage.Options{Path: disk}).Where())
}

func TestRetentionDropsOldSamples(t *testing.T) {
	for name, o := range map[string]storage.Options{
		"tmpfs": {Retention: time.Hour},
		"heap":  {Retention: time.Hour, MemoryDir: storage.MemoryDirHeap},
	} {
		t.Run(name, func(t *testing.T) {
			s := openTest(t, o)
			start := time.Now().Add(-6 * time.Hour).Truncate(2 * time.Hour)
			require.Equal(t, 1440, appendRange(t, s, start, start.Add(6*time.Hour)))
			require.Equal(t, 1440, countSamples(t, s))

			require.NoError(t, s.Compact(context.Background()))
			// Whole blocks (2h) or head chunks are dropped; the last hour stays.
			got := countSamples(t, s)
			require.GreaterOrEqual(t, got, 240)
			require.Less(t, got, 1440-240)
		})
	}
}

// A retention changed in prometheus.yml applies at the reload, in memory
// too.
func TestRetentionChangeAtReload(t *testing.T) {
	s := openTest(t, storage.Options{Retention: 24 * time.Hour, BlockReloadInterval: time.Second})
	start := time.Now().Add(-8 * time.Hour).Truncate(2 * time.Hour)
	appendRange(t, s, start, start.Add(8*time.Hour))
	require.NoError(t, s.Compact(context.Background()))
	require.Equal(t, 1920, countSamples(t, s), "a day's retention keeps all 8h")

	require.NoError(t, s.ApplyConfig(tsdbConfig(2*time.Hour, 0, 0, false)))
	require.Equal(t, 2*time.Hour, s.Retention())
	// The TSDB applies retention when it next reloads its blocks.
	require.Eventually(t, func() bool { return countSamples(t, s) <= 1920/2 }, 30*time.Second, 100*time.Millisecond,
		"2h retention drops most of 8h")
}

// retention.size bounds what memory holds: the oldest blocks go first.
func TestRetentionSizeInMemory(t *testing.T) {
	s := openTest(t, storage.Options{Retention: 30 * 24 * time.Hour})
	require.NoError(t, s.ApplyConfig(tsdbConfig(30*24*time.Hour, 1, 0, false)))
	start := time.Now().Add(-12 * time.Hour).Truncate(2 * time.Hour)
	n := appendRange(t, s, start, start.Add(12*time.Hour))
	require.NoError(t, s.Compact(context.Background()))
	metas, err := s.BlockMetas()
	require.NoError(t, err)
	require.Empty(t, metas, "a 1-byte bound keeps no block")
	require.Less(t, countSamples(t, s), n/2)
}

// Samples within the out-of-order window are queryable in memory, with or
// without an exemplars section, as in Prometheus.
func TestOutOfOrderInMemory(t *testing.T) {
	for _, exemplars := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "with exemplars"}[exemplars], func(t *testing.T) {
			s := openTest(t, storage.Options{})
			require.NoError(t, s.ApplyConfig(tsdbConfig(24*time.Hour, 0, time.Hour, exemplars)))
			now := time.Now()
			appendRange(t, s, now, now.Add(time.Second))
			n := appendRange(t, s, now.Add(-30*time.Minute), now.Add(-29*time.Minute))
			require.Equal(t, n+1, countSamples(t, s))
		})
	}
	// Where the window cannot be honoured it is refused, not ignored.
	s := openTest(t, storage.Options{MemoryDir: storage.MemoryDirHeap})
	require.ErrorContains(t, s.ApplyConfig(tsdbConfig(24*time.Hour, 0, time.Hour, false)), "out_of_order_time_window")
}

func TestCloseRemovesTempState(t *testing.T) {
	for _, mode := range []string{"tmpfs", "heap"} {
		t.Run(mode, func(t *testing.T) {
			parent := storagetest.MemoryDir(t)
			o := storage.Options{MemoryDir: parent}
			if mode == "heap" {
				o = storage.Options{MemoryDir: storage.MemoryDirHeap, TempDir: parent}
			}
			s, err := storage.Open(promslog.NewNopLogger(), nil, o)
			require.NoError(t, err)
			appendRange(t, s, time.Now(), time.Now().Add(time.Second))
			entries, _ := filepath.Glob(filepath.Join(parent, "*"))
			require.Len(t, entries, 1, "one private dir while open")

			require.NoError(t, s.Close())
			require.NoError(t, s.Close(), "Close is idempotent")
			left, err := os.ReadDir(parent)
			require.NoError(t, err)
			require.Empty(t, left)
		})
	}
}

// A private directory whose owner died (its lock is free) is removed at the
// next start; one whose owner lives is kept. cmd/miniprom tests the same
// with a real kill -9.
func TestStaleDirRemovedAtStart(t *testing.T) {
	parent := storagetest.MemoryDir(t)
	alive := openTest(t, storage.Options{MemoryDir: parent})
	dead := filepath.Join(parent, "miniprom-123")
	require.NoError(t, os.MkdirAll(dead, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dead, "miniprom.lock"), nil, 0o644))
	noLock := filepath.Join(parent, "miniprom-456") // may be a process about to lock it
	require.NoError(t, os.MkdirAll(noLock, 0o755))

	openTest(t, storage.Options{MemoryDir: parent})
	require.NoDirExists(t, dead)
	require.DirExists(t, alive.Dir())
	require.DirExists(t, noLock)
}
