package storage

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/compression"
)

// DefaultDurableRetention is the on-disk retention when none is configured,
// Prometheus's own default.
const DefaultDurableRetention = 15 * 24 * time.Hour

// openDurable opens the upstream on-disk TSDB (WAL and blocks) in o.Path, as
// Prometheus does with --storage.tsdb.path. Compaction, retention by time and
// size, and WAL truncation are the TSDB's own; a restart replays the WAL.
func openDurable(logger *slog.Logger, reg prometheus.Registerer, o Options) (*Storage, error) {
	if o.Retention <= 0 && o.RetentionSize <= 0 {
		o.Retention = DefaultDurableRetention
	}
	opts := tsdb.DefaultOptions()
	opts.RetentionDuration = o.Retention.Milliseconds()
	opts.MaxBytes = o.RetentionSize
	opts.WALCompression = compression.Snappy
	opts.EnableExemplarStorage = o.MaxExemplars > 0
	opts.MaxExemplars = o.MaxExemplars
	stats := tsdb.NewDBStats()
	db, err := tsdb.Open(o.Path, logger.With("component", "tsdb"), reg, opts, stats)
	if err != nil {
		return nil, fmt.Errorf("open TSDB in %s: %w", o.Path, err)
	}
	s := &Storage{
		db:        db,
		dbStats:   stats,
		head:      db.Head(),
		dir:       o.Path,
		retention: o.Retention,
		logger:    logger,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	// The TSDB enforces retention itself: no retention loop.
	close(s.done)
	if reg != nil {
		reg.MustRegister(s.collectors()...)
	}
	// The remote write queues tail the TSDB's own WAL.
	s.rw = newRemoteWrite(logger, reg, s.StartTime, o.Path, "", o)
	db.SetWriteNotified(s.rw.remote)
	logger.Info("On-disk TSDB opened", "path", o.Path, "retention", o.Retention, "retentionSize", o.RetentionSize)
	return s, nil
}

// Durable reports whether the storage is on disk.
func (s *Storage) Durable() bool { return s.db != nil }

// The durable variants of the methods whose in-memory forms only know the
// head.

func (s *Storage) durableBlockMetas() []tsdb.BlockMeta {
	blocks := s.db.Blocks()
	metas := make([]tsdb.BlockMeta, 0, len(blocks))
	for _, b := range blocks {
		metas = append(metas, b.Meta())
	}
	return metas
}

func (s *Storage) durableDelete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	return s.db.Delete(ctx, mint, maxt, ms...)
}

// Dir is where the storage keeps its files: the data directory on disk, the
// private temporary directory (removed by Close) in memory.
func (s *Storage) Dir() string { return s.dir }
