package storage

import (
	"cmp"
	"errors"
	"time"

	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/compression"
)

// DiskTuning is Prometheus's --storage.tsdb.* tuning flags. They apply to the
// on-disk TSDB (Options.Path) only: in memory there is no WAL and no lock
// file of the TSDB's own, and miniprom sizes blocks and chunks itself. Zero
// fields are Prometheus's defaults.
type DiskTuning struct {
	MinBlockDuration time.Duration // zero: 2h
	// MaxBlockDuration zero is a tenth of the retention, within 2h..31d.
	MaxBlockDuration         time.Duration
	MaxBlockChunkSegmentSize int64 // zero: the TSDB's 512MiB
	WALSegmentSize           int   // zero: the TSDB's 128MiB
	// WALCompression is the WAL's algorithm; empty is Snappy, Prometheus's
	// default, and compression.None turns compression off.
	WALCompression           compression.Type
	NoLockfile               bool
	HeadChunksWriteQueueSize int // zero: no queue, as in Prometheus
	SamplesPerChunk          int // zero: 120
	// NoOverlappingCompaction is the negation of
	// --storage.tsdb.allow-overlapping-compaction (default true).
	NoOverlappingCompaction bool

	// The --enable-feature options that tune the on-disk TSDB.
	MemorySnapshotOnShutdown  bool // memory-snapshot-on-shutdown
	DelayedCompaction         bool // delayed-compaction
	CompactionDelayMaxPercent int  // --storage.tsdb.delayed-compaction.max-percent; zero: 10
	UncachedIO                bool // use-uncached-io
	FastStartup               bool // fast-startup

	// CompactionExclude keeps blocks out of compaction
	// (--storage.tsdb.delay-compact-file.path); nil excludes none.
	CompactionExclude tsdb.BlockExcludeFilterFunc
}

// Validate checks the sizes as Prometheus does at start, with its messages.
func (d DiskTuning) Validate() error {
	const mib = 1 << 20
	if d.WALSegmentSize != 0 && (d.WALSegmentSize < 10*mib || d.WALSegmentSize > 256*mib) {
		return errors.New("flag 'storage.tsdb.wal-segment-size' must be set between 10MB and 256MB")
	}
	if d.MaxBlockChunkSegmentSize != 0 && d.MaxBlockChunkSegmentSize < mib {
		return errors.New("flag 'storage.tsdb.max-block-chunk-segment-size' must be set over 1MB")
	}
	return nil
}

// apply sets the on-disk TSDB's options from d.
func (d DiskTuning) apply(opts *tsdb.Options) {
	if d.MinBlockDuration > 0 {
		opts.MinBlockDuration = d.MinBlockDuration.Milliseconds()
	}
	if d.MaxBlockDuration > 0 {
		opts.MaxBlockDuration = d.MaxBlockDuration.Milliseconds()
	}
	opts.MaxBlockChunkSegmentSize = d.MaxBlockChunkSegmentSize
	opts.WALSegmentSize = d.WALSegmentSize
	opts.WALCompression = cmp.Or(d.WALCompression, compression.Snappy)
	opts.NoLockfile = d.NoLockfile
	opts.HeadChunksWriteQueueSize = d.HeadChunksWriteQueueSize
	if d.SamplesPerChunk > 0 {
		opts.SamplesPerChunk = d.SamplesPerChunk
	}
	opts.EnableOverlappingCompaction = !d.NoOverlappingCompaction
	opts.EnableMemorySnapshotOnShutdown = d.MemorySnapshotOnShutdown
	opts.EnableDelayedCompaction = d.DelayedCompaction
	if d.CompactionDelayMaxPercent > 0 {
		opts.CompactionDelayMaxPercent = d.CompactionDelayMaxPercent
	}
	opts.UseUncachedIO = d.UncachedIO
	opts.EnableFastStartup = d.FastStartup
	opts.BlockCompactionExcludeFunc = d.CompactionExclude
}
