// Package storage keeps miniprom's samples in the upstream Prometheus TSDB
// head, held in memory, and answers PromQL with the upstream engine.
//
// A Prometheus head normally sits in front of a WAL and on-disk blocks. Here
// it stands alone: there is no WAL and no block is ever written, and
// retention is enforced by truncating the head itself. Chunks stay in memory:
// only Prometheus's DB moves full chunks to memory-mapped files, and there is
// no DB here. The few files upstream code needs (the head's chunk directory,
// the query tracker's log) live in a private temporary directory that Close
// removes (with the remote write WAL, when remote_write is configured:
// see remote.go).
//
// With Options.Path (--storage.tsdb.path) it is instead the upstream
// on-disk TSDB, WAL and blocks, as in Prometheus (durable.go).
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// DefaultRetention is how long samples are kept in memory unless configured
// otherwise. Prometheus keeps 15 days on disk; in memory a day of 1,000
// series at a 15s interval costs about 17 MiB (BenchmarkRetentionPlateau
// measures the shape), which suits a small server.
const DefaultRetention = 24 * time.Hour

// Options configure Open.
type Options struct {
	// Retention is how long samples are kept; older ones are dropped.
	Retention time.Duration
	// TempDir is where the private temporary directory is made. Empty means
	// os.TempDir().
	TempDir string
	// MaxExemplars sizes the exemplar ring buffer; 0 disables exemplars.
	MaxExemplars int64
	// StartTimestamps stores start (created) timestamps with samples, as
	// Prometheus's st-storage feature does.
	StartTimestamps bool
	// Path switches to the on-disk TSDB in this directory
	// (--storage.tsdb.path); empty keeps everything in memory.
	Path string
	// RetentionSize bounds the on-disk TSDB's size in bytes
	// (--storage.tsdb.retention.size); 0 is no limit. Durable mode only.
	RetentionSize int64
	// RemoteFlushDeadline bounds how long Close and a reload wait for remote
	// write queues to flush (--storage.remote.flush-deadline).
	RemoteFlushDeadline time.Duration
}

// Storage is an in-memory TSDB. It implements storage.Storage,
// storage.ExemplarQueryable and the admin/stats interface of the v1 API.
type Storage struct {
	head      *tsdb.Head
	db        *tsdb.DB // durable mode only; head is then db.Head()
	dbStats   *tsdb.DBStats
	dir       string
	retention time.Duration
	logger    *slog.Logger
	rw        *remoteWrite

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Open creates the head and starts the retention loop.
func Open(logger *slog.Logger, reg prometheus.Registerer, o Options) (*Storage, error) {
	if o.Path != "" {
		return openDurable(logger, reg, o)
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	dir, err := os.MkdirTemp(o.TempDir, "miniprom-")
	if err != nil {
		return nil, fmt.Errorf("create storage temp dir: %w", err)
	}
	ho := tsdb.DefaultHeadOptions()
	ho.ChunkDirRoot = dir
	// The head refuses samples older than half its chunk range, a window kept
	// for compaction into blocks. There are no blocks here, so let the window
	// span the whole retention.
	ho.ChunkRange = 2 * o.Retention.Milliseconds()
	ho.EnableExemplarStorage = o.MaxExemplars > 0
	ho.MaxExemplars.Store(o.MaxExemplars)
	if o.StartTimestamps {
		ho.EnableSTStorage.Store(true)
		ho.FloatChunkEncoding.Store(uint32(chunkenc.EncXOR2))
		ho.EnableHistogramSTEncoding.Store(true)
	}
	head, err := tsdb.NewHead(reg, logger.With("component", "tsdb"), nil, nil, ho, tsdb.NewHeadStats())
	if err == nil {
		err = head.Init(math.MinInt64)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("open in-memory TSDB: %w", err)
	}
	s := &Storage{
		head:      head,
		dir:       dir,
		retention: o.Retention,
		logger:    logger,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	if reg != nil {
		reg.MustRegister(s.collectors()...)
	}
	s.rw = newRemoteWrite(logger, reg, s.StartTime, dir, dir, o)
	go s.retentionLoop()
	return s, nil
}

// retentionInterval is how often expired samples are dropped. Head chunks are
// dropped whole, so memory tracks retention to within a chunk's span.
const retentionInterval = time.Minute

func (s *Storage) retentionLoop() {
	defer close(s.done)
	t := time.NewTicker(retentionInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.enforceRetention(); err != nil {
				s.logger.Error("Dropping expired samples failed", "err", err)
			}
		}
	}
}

// enforceRetention drops samples older than the retention, measured back
// from the newest sample as Prometheus measures it from its newest block.
func (s *Storage) enforceRetention() error {
	if s.head.NumSeries() == 0 {
		return nil
	}
	return s.Truncate(s.head.MaxTime() - s.retention.Milliseconds())
}

// Truncate drops samples older than mint (milliseconds). The retention loop
// calls it; it is exported so tests can drive retention without waiting.
func (s *Storage) Truncate(mint int64) error {
	if s.head.MinTime() >= mint {
		return nil
	}
	return s.head.Truncate(mint)
}

// ApplyConfig applies the parts of the configuration storage cares about:
// exemplar storage size and remote_write.
func (s *Storage) ApplyConfig(cfg *config.Config) error {
	if s.db != nil {
		if err := s.db.ApplyConfig(cfg); err != nil {
			return err
		}
	} else if cfg.StorageConfig.ExemplarsConfig != nil {
		s.head.ApplyConfig(cfg, nil)
	}
	return s.rw.applyConfig(cfg)
}

// Querier implements storage.Queryable.
func (s *Storage) Querier(mint, maxt int64) (storage.Querier, error) {
	if s.db != nil {
		return s.db.Querier(mint, maxt)
	}
	return tsdb.NewBlockQuerier(tsdb.NewRangeHead(s.head, mint, maxt), mint, maxt)
}

// ChunkQuerier implements storage.ChunkQueryable.
func (s *Storage) ChunkQuerier(mint, maxt int64) (storage.ChunkQuerier, error) {
	if s.db != nil {
		return s.db.ChunkQuerier(mint, maxt)
	}
	return tsdb.NewBlockChunkQuerier(tsdb.NewRangeHead(s.head, mint, maxt), mint, maxt)
}

// Appender implements storage.Appendable. Samples also go to remote write
// when it is configured.
func (s *Storage) Appender(ctx context.Context) storage.Appender {
	return s.withRemote(local{s}).Appender(ctx)
}

// AppenderV2 implements storage.AppendableV2.
func (s *Storage) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return s.withRemote(local{s}).AppenderV2(ctx)
}

// ExemplarQuerier implements storage.ExemplarQueryable.
func (s *Storage) ExemplarQuerier(ctx context.Context) (storage.ExemplarQuerier, error) {
	if s.db != nil {
		return s.db.ExemplarQuerier(ctx)
	}
	return s.head.ExemplarQuerier(ctx)
}

// StartTime implements storage.Storage: the oldest timestamp held.
func (s *Storage) StartTime() (int64, error) {
	if s.db != nil {
		return s.db.StartTime()
	}
	return s.head.MinTime(), nil
}

// Stats implements the v1 API's TSDB status source.
func (s *Storage) Stats(statsByLabelName string, limit int) (*tsdb.Stats, error) {
	return s.head.Stats(statsByLabelName, limit), nil
}

// WALReplayStatus reports an empty replay: there is no WAL to replay.
func (s *Storage) WALReplayStatus() (tsdb.WALReplayStatus, error) {
	if s.db != nil {
		return s.dbStats.Head.WALReplayStatus.GetWALReplayStatus(), nil
	}
	return tsdb.WALReplayStatus{}, nil
}

// BlockMetas reports no blocks: everything lives in the head.
func (s *Storage) BlockMetas() ([]tsdb.BlockMeta, error) {
	if s.db != nil {
		return s.durableBlockMetas(), nil
	}
	return nil, nil
}

// Delete marks matching series deleted in [mint, maxt] (admin API).
func (s *Storage) Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	if s.db != nil {
		return s.durableDelete(ctx, mint, maxt, ms...)
	}
	return s.head.Delete(ctx, mint, maxt, ms...)
}

// CleanTombstones is a no-op: the head applies deletions at query time and
// drops them with the data on truncation.
func (s *Storage) CleanTombstones() error {
	if s.db != nil {
		return s.db.CleanTombstones()
	}
	return nil
}

// ErrSnapshotUnsupported is returned by Snapshot: an in-memory head has no
// blocks to snapshot.
var ErrSnapshotUnsupported = errors.New("snapshots need on-disk storage (--storage.tsdb.path)")

// Snapshot is not supported in memory.
func (s *Storage) Snapshot(dir string, withHead bool) error {
	if s.db != nil {
		return s.db.Snapshot(dir, withHead)
	}
	return ErrSnapshotUnsupported
}

// Retention is how long samples are kept.
func (s *Storage) Retention() time.Duration { return s.retention }

// Head exposes the head for self-metrics and tests.
func (s *Storage) Head() *tsdb.Head { return s.head }

// Close stops retention, closes the head and removes the temp directory.
// It is safe to call more than once.
func (s *Storage) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		if s.db != nil {
			s.closeErr = errors.Join(s.rw.close(), s.db.Close())
			return
		}
		s.closeErr = errors.Join(s.rw.close(), s.head.Close(), os.RemoveAll(s.dir))
	})
	return s.closeErr
}

func (s *Storage) collectors() []prometheus.Collector {
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_lowest_timestamp_seconds",
			Help: "Lowest timestamp value stored in the database.",
		}, func() float64 { return float64(s.head.MinTime() / 1000) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_min_time_seconds",
			Help: "Minimum time bound of the head block.",
		}, func() float64 { return float64(s.head.MinTime() / 1000) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_max_time_seconds",
			Help: "Maximum timestamp of the head block.",
		}, func() float64 { return float64(s.head.MaxTime() / 1000) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_retention_limit_seconds",
			Help: "Max age in seconds samples should be kept in the TSDB.",
		}, func() float64 { return s.retention.Seconds() }),
	}
	if s.db != nil {
		// The on-disk TSDB exports its retention limits itself.
		return cs[:len(cs)-1]
	}
	return cs
}
