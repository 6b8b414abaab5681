package storage

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/compression"
	"github.com/stretchr/testify/require"
)

func TestDiskTuningReachesTheTSDB(t *testing.T) {
	tuned := DiskTuning{
		MinBlockDuration:         time.Hour,
		MaxBlockDuration:         6 * time.Hour,
		MaxBlockChunkSegmentSize: 64 << 20,
		WALSegmentSize:           32 << 20,
		WALCompression:           compression.Zstd,
		NoLockfile:               true,
		HeadChunksWriteQueueSize: 1000,
		SamplesPerChunk:          240,
		NoOverlappingCompaction:  true,

		MemorySnapshotOnShutdown:  true,
		DelayedCompaction:         true,
		CompactionDelayMaxPercent: 50,
		FastStartup:               true,
		CompactionExclude:         func(*tsdb.BlockMeta) bool { return true },
	}
	def := tsdb.DefaultOptions()
	o := Options{Retention: 10 * 24 * time.Hour, Path: "data"}

	// Untuned, the on-disk TSDB gets Prometheus's defaults.
	got := dbOptions(o, true, nil)
	require.Equal(t, def.MinBlockDuration, got.MinBlockDuration)
	require.Equal(t, 24*time.Hour.Milliseconds(), got.MaxBlockDuration, "a tenth of the retention")
	require.Equal(t, compression.Snappy, got.WALCompression)
	require.False(t, got.NoLockfile)
	require.True(t, got.EnableOverlappingCompaction)
	require.Equal(t, def.SamplesPerChunk, got.SamplesPerChunk)

	o.Disk = tuned
	got = dbOptions(o, true, nil)
	require.Equal(t, time.Hour.Milliseconds(), got.MinBlockDuration)
	require.Equal(t, 6*time.Hour.Milliseconds(), got.MaxBlockDuration)
	require.Equal(t, int64(64<<20), got.MaxBlockChunkSegmentSize)
	require.Equal(t, 32<<20, got.WALSegmentSize)
	require.Equal(t, compression.Zstd, got.WALCompression)
	require.True(t, got.NoLockfile)
	require.Equal(t, 1000, got.HeadChunksWriteQueueSize)
	require.Equal(t, 240, got.SamplesPerChunk)
	require.False(t, got.EnableOverlappingCompaction)
	require.True(t, got.EnableMemorySnapshotOnShutdown)
	require.True(t, got.EnableDelayedCompaction)
	require.Equal(t, 50, got.CompactionDelayMaxPercent)
	require.True(t, got.EnableFastStartup)
	require.NotNil(t, got.BlockCompactionExcludeFunc)

	o.Disk.WALCompression = compression.None
	require.Equal(t, compression.None, dbOptions(o, true, nil).WALCompression)

	// In memory the tuning does not apply: no WAL, the private directory's lock.
	got = dbOptions(o, false, nil)
	require.Equal(t, -1, got.WALSegmentSize)
	require.Equal(t, def.MinBlockDuration, got.MinBlockDuration)
	require.Equal(t, def.SamplesPerChunk, got.SamplesPerChunk)
	require.True(t, got.EnableOverlappingCompaction)
	require.False(t, got.EnableMemorySnapshotOnShutdown)
	require.False(t, got.EnableDelayedCompaction)
	require.Nil(t, got.BlockCompactionExcludeFunc)
}

// The lock file is the one tuning flag whose effect shows on the disk at once.
func TestDiskTuningNoLockfile(t *testing.T) {
	for _, noLock := range []bool{false, true} {
		dir := t.TempDir()
		s, err := Open(promslog.NewNopLogger(), nil, Options{Path: dir, Disk: DiskTuning{NoLockfile: noLock}})
		require.NoError(t, err)
		if noLock {
			require.NoFileExists(t, filepath.Join(dir, "lock"))
		} else {
			require.FileExists(t, filepath.Join(dir, "lock"))
		}
		require.NoError(t, s.Close())
	}
}

func TestDiskTuningValidate(t *testing.T) {
	require.NoError(t, DiskTuning{}.Validate())
	require.NoError(t, DiskTuning{WALSegmentSize: 10 << 20, MaxBlockChunkSegmentSize: 1 << 20}.Validate())
	require.ErrorContains(t, DiskTuning{WALSegmentSize: 1 << 20}.Validate(), "between 10MB and 256MB")
	require.ErrorContains(t, DiskTuning{WALSegmentSize: 512 << 20}.Validate(), "between 10MB and 256MB")
	require.ErrorContains(t, DiskTuning{MaxBlockChunkSegmentSize: 1 << 10}.Validate(), "must be set over 1MB")
}
