package storage

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// dbBackend is the upstream TSDB. Full head chunks are memory-mapped from
// files, the head is compacted into 2h blocks, and retention drops whole
// blocks: on a RAM-backed filesystem that keeps the data at its compressed
// size outside the Go heap; on disk (--storage.tsdb.path) it is Prometheus's
// own storage, with a WAL so it survives a restart.
type dbBackend struct {
	*tsdb.DB
	stats    *tsdb.DBStats
	blocks   *blockCache
	head     *headCache // nil with Options.NoHeadLabelCache
	snapshot bool
}

// Querier is the DB's, with label names and values cached (labelcache.go).
func (b *dbBackend) Querier(mint, maxt int64) (storage.Querier, error) {
	return &labelQuerier{db: b.DB, blocks: b.blocks, head: b.head, mint: mint, maxt: maxt}, nil
}

// dbOptions are the tsdb.Options for o. wal is off in memory: a WAL would
// double what is held, and nothing is replayed after a restart anyway.
func dbOptions(o Options, wal bool, limit tsdb.SeriesLifecycleCallback) *tsdb.Options {
	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = o.Retention.Milliseconds()
	opts.MaxBytes = o.RetentionSize
	opts.MaxBlockDuration = maxBlockDuration(o.Retention)
	opts.EnableExemplarStorage = o.MaxExemplars > 0
	opts.MaxExemplars = o.MaxExemplars
	opts.SeriesLifecycleCallback = limit
	if o.BlockReloadInterval > 0 {
		opts.BlockReloadInterval = o.BlockReloadInterval
	}
	if wal {
		o.Disk.apply(opts)
	} else {
		opts.WALSegmentSize = -1
		opts.NoLockfile = true // the private directory has its own lock.
	}
	opts.FloatChunkEncoding = o.floatEncoding()
	if o.StartTimestamps {
		opts.EnableSTStorage = true
		opts.EnableHistogramSTEncoding = true
	}
	return opts
}

// maxBlockDuration is Prometheus's: a tenth of the retention, at least the
// 2h head block and at most 31 days.
func maxBlockDuration(retention time.Duration) int64 {
	const lo, hi = 2 * time.Hour, 31 * 24 * time.Hour
	return min(max(retention/10, lo), hi).Milliseconds()
}

// openDB opens the TSDB with the label cache (labelcache.go); headCache
// says whether the head's part is cached too.
func openDB(logger *slog.Logger, reg prometheus.Registerer, dir string, opts *tsdb.Options, headCache bool) (*dbBackend, error) {
	stats := tsdb.NewDBStats()
	var gens *headGen
	if headCache {
		gens = &headGen{}
		hooks := lifecycles{gens}
		if opts.SeriesLifecycleCallback != nil {
			hooks = lifecycles{opts.SeriesLifecycleCallback, gens}
		}
		opts.SeriesLifecycleCallback = hooks
	}
	db, err := tsdb.Open(dir, logger.With("component", "tsdb"), reg, opts, stats)
	if err != nil {
		return nil, fmt.Errorf("open TSDB in %s: %w", dir, err)
	}
	m := newLabelCacheMetrics(reg)
	b := &dbBackend{DB: db, stats: stats, blocks: newBlockCache(m)}
	if headCache {
		gens.head.Store(db.Head())
		b.head = newHeadCache(m, gens)
	}
	return b, nil
}

func (b *dbBackend) BlockMetas() []tsdb.BlockMeta {
	blocks := b.Blocks()
	metas := make([]tsdb.BlockMeta, 0, len(blocks))
	for _, bl := range blocks {
		metas = append(metas, bl.Meta())
	}
	return metas
}

func (b *dbBackend) WALReplayStatus() tsdb.WALReplayStatus {
	return b.stats.Head.WALReplayStatus.GetWALReplayStatus()
}

// Snapshot writes blocks to dir. In memory the directory is private and
// removed at exit, so a snapshot there would be lost: refuse it.
func (b *dbBackend) Snapshot(dir string, withHead bool) error {
	if !b.snapshot {
		return ErrSnapshotUnsupported
	}
	return b.DB.Snapshot(dir, withHead)
}
