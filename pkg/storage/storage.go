// Package storage keeps miniprom's samples in the upstream Prometheus TSDB.
// It knows nothing of PromQL: the server's engine queries it.
//
// In memory (the default) the TSDB lives in a private directory on a
// RAM-backed filesystem (/dev/shm, or --storage.memory.dir), without a WAL:
// full chunks are memory-mapped files and 2h blocks are compacted there, at
// the size Prometheus stores on disk and outside the Go heap. Nothing
// reaches a disk and nothing survives the process; a directory left by a
// process that was killed is removed by the next start (memdir.go). With no
// RAM-backed directory that has room, chunks stay in the Go heap (heap.go).
//
// With Options.Path (--storage.tsdb.path) it is the same TSDB on disk with
// its WAL, as in Prometheus.
//
// Its querier answers label names and values from a cache of the blocks'
// and the head's answers, always exactly what the DB's own querier would
// (labelcache.go).
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// DefaultRetention is how long samples are kept in memory unless configured
// otherwise. Prometheus keeps 15 days on disk; in memory a day of 10,000
// series at 15s (57.6M samples) takes about 300 MB (see the README's
// measurements), which suits a small server.
const DefaultRetention = 24 * time.Hour

// DefaultDurableRetention is the on-disk retention when none is configured,
// Prometheus's own default.
const DefaultDurableRetention = 15 * 24 * time.Hour

// DefaultRetentionFor is the retention when none is configured: in memory
// without a path (DefaultRetention), on disk with one.
func DefaultRetentionFor(path string) time.Duration {
	if path != "" {
		return DefaultDurableRetention
	}
	return DefaultRetention
}

// memoryDirShare is the part of a RAM-backed directory's free space that
// in-memory storage may fill when no retention size is configured: the
// oldest blocks are dropped before the filesystem is full.
const memoryDirShare = 0.8

// Options configure Open.
type Options struct {
	// Retention is how long samples are kept; older ones are dropped.
	Retention time.Duration
	// RetentionSize bounds the bytes held (blocks, head chunks, WAL); 0 is
	// no limit, or in a RAM-backed directory 80% of its free space.
	RetentionSize int64
	// MemoryDir is where in-memory mode keeps chunks and blocks: a
	// RAM-backed directory, MemoryDirAuto or MemoryDirHeap.
	MemoryDir string
	// TempDir is the parent of the private directory when chunks are held
	// in the heap. Empty means os.TempDir().
	TempDir string
	// MaxSeries bounds the series held; 0 is no limit (limit.go).
	MaxSeries int
	// MaxExemplars sizes the exemplar ring buffer; 0 disables exemplars.
	MaxExemplars int64
	// StartTimestamps stores start (created) timestamps with samples, as
	// Prometheus's st-storage feature does.
	StartTimestamps bool
	// FloatEncoding is how new float chunks are encoded at start:
	// chunkenc.EncXOR2 (the xor2-encoding feature, or
	// storage.tsdb.chunk_encoding.floats: xor2 in the config read at start)
	// or EncXOR; EncNone is EncXOR. st-storage implies XOR2. The config's
	// field, when set, overrides it at every reload, as in Prometheus.
	FloatEncoding chunkenc.Encoding
	// Path switches to the on-disk TSDB in this directory
	// (--storage.tsdb.path); empty keeps everything in memory.
	Path string
	// RemoteFlushDeadline bounds how long Close and a reload wait for remote
	// write queues to flush (--storage.remote.flush-deadline).
	RemoteFlushDeadline time.Duration
	// BlockReloadInterval is how often the TSDB applies retention when
	// nothing is compacted; zero is Prometheus's minute. Tests shorten it.
	BlockReloadInterval time.Duration
	// Disk is the --storage.tsdb.* tuning, applied with Path only.
	Disk DiskTuning
	// SnapshotDir is a directory on a disk that in-memory storage loads
	// at Open and writes at FinalSnapshot (--storage.memory.snapshot-dir,
	// snapshot.go); empty keeps nothing across restarts.
	SnapshotDir string
	// SnapshotInterval also takes a snapshot this often; zero only at
	// FinalSnapshot (--storage.memory.snapshot-interval).
	SnapshotInterval time.Duration
	// NoHeadLabelCache leaves the head's label names and values uncached
	// (--no-storage.label-cache.head): the head answers every request
	// itself, as in Prometheus; blocks' answers are cached still
	// (labelcache.go).
	NoHeadLabelCache bool
}

// Storage is the TSDB. It implements storage.Storage,
// storage.ExemplarQueryable and the admin/stats interface of the v1 API.
type Storage struct {
	b      backend
	mode   Mode
	dir    string
	priv   *privateDir  // in memory: removed by Close
	snap   *snapshotter // with Options.SnapshotDir
	logger *slog.Logger
	rw     *remoteWrite
	limit  *seriesLimit
	// defaultSize is the retention size used when the config sets none.
	defaultSize int64

	mu        sync.Mutex
	retention time.Duration
	size      int64

	closeOnce sync.Once
	closeErr  error
}

// Mode says where samples are held.
type Mode string

// The modes, as shown in the log and /api/v1/status/runtimeinfo.
const (
	ModeTmpfs Mode = "memory (RAM-backed files)"
	ModeHeap  Mode = "memory (Go heap)"
	ModeDisk  Mode = "disk"
)

// Open opens the TSDB: on disk with o.Path, otherwise in memory.
func Open(logger *slog.Logger, reg prometheus.Registerer, o Options) (_ *Storage, err error) {
	if o.Retention <= 0 && (o.Path == "" || o.RetentionSize <= 0) {
		o.Retention = DefaultRetentionFor(o.Path)
	}
	s := &Storage{logger: logger, retention: o.Retention, defaultSize: o.RetentionSize}
	s.limit = newSeriesLimit(reg, o.MaxSeries)
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close())
		}
	}()
	if err := s.openBackend(logger, reg, o); err != nil {
		return nil, err
	}
	if reg != nil {
		reg.MustRegister(s.collectors()...)
	}
	walDir := s.dir // in memory the remote write queues tail their own WAL
	if o.Path != "" {
		walDir = "" // on disk they tail the TSDB's
	}
	s.rw = newRemoteWrite(logger, reg, s.StartTime, s.dir, walDir, o)
	if db, ok := s.b.(*dbBackend); ok && o.Path != "" {
		db.SetWriteNotified(s.rw.remote)
	}
	logger.Info("TSDB opened", "mode", s.mode, "dir", s.dir, "retention", o.Retention,
		"retentionSize", s.defaultSize, "maxSeries", o.MaxSeries)
	return s, nil
}

func (s *Storage) openBackend(logger *slog.Logger, reg prometheus.Registerer, o Options) error {
	if o.Path != "" && o.SnapshotDir != "" {
		return errSnapshotDurable
	}
	if o.Path != "" {
		s.mode, s.dir = ModeDisk, o.Path
		db, err := openDB(logger, reg, o.Path, dbOptions(o, true, s.limit), !o.NoHeadLabelCache)
		if err != nil {
			return err
		}
		db.snapshot = true
		s.b = db
		return nil
	}
	memDir, err := chooseMemoryDir(logger, o.MemoryDir, o.RetentionSize)
	if err != nil {
		return err
	}
	parent := memDir
	if memDir == "" {
		parent = o.TempDir
	}
	if s.priv, err = newPrivateDir(logger, parent); err != nil {
		return err
	}
	s.dir = s.priv.path
	if memDir == "" {
		if o.SnapshotDir != "" {
			return errSnapshotHeap
		}
		s.mode = ModeHeap
		s.b, err = openHeap(logger, reg, s.dir, o, s.limit)
		return err
	}
	s.mode = ModeTmpfs
	free, _, err := ramFree(memDir)
	if err != nil {
		return fmt.Errorf("measure %s: %w", memDir, err)
	}
	room := int64(float64(free) * memoryDirShare)
	if o.RetentionSize <= 0 {
		s.defaultSize = room &^ (1<<20 - 1) // whole MiB
		o.RetentionSize = s.defaultSize
	}
	if o.SnapshotDir != "" {
		if err := loadSnapshot(logger, o.SnapshotDir, s.dir, min(room, o.RetentionSize)); err != nil {
			return fmt.Errorf("load snapshot from --storage.memory.snapshot-dir=%s: %w", o.SnapshotDir, err)
		}
	}
	db, err := openDB(logger, reg, s.dir, dbOptions(o, false, s.limit), !o.NoHeadLabelCache)
	if err != nil {
		return err
	}
	s.b = db
	if o.SnapshotDir != "" {
		s.snap = &snapshotter{
			dir: o.SnapshotDir, interval: o.SnapshotInterval, db: db.DB,
			staging: filepath.Join(s.dir, snapshotStaging),
			logger:  logger.With("component", "snapshot"),
			m:       newSnapshotMetrics(reg),
		}
		s.snap.start()
	}
	return nil
}

// Why a snapshot directory is refused.
var (
	errSnapshotDurable = errors.New("--storage.memory.snapshot-dir is for in-memory storage: with --storage.tsdb.path the TSDB keeps its data on disk itself")
	errSnapshotHeap    = errors.New("--storage.memory.snapshot-dir needs chunks and blocks in a RAM-backed directory, not in the Go heap (see --storage.memory.dir)")
)

// FinalSnapshot stops periodic snapshots and writes the last one, once
// nothing appends or queries any more; without Options.SnapshotDir it does
// nothing. A failure keeps the previous snapshot and is returned.
func (s *Storage) FinalSnapshot() error {
	if s.snap == nil {
		return nil
	}
	s.snap.stopPeriodic()
	return s.snap.write()
}

// Compact compacts the head into blocks and applies retention now, as the
// storage does by itself every minute; tests use it to drive retention.
func (s *Storage) Compact(ctx context.Context) error { return s.b.Compact(ctx) }

// Mode says where samples are held.
func (s *Storage) Mode() Mode { return s.mode }

// Where says where samples are held, for people (runtime info, the UI):
// "RAM-backed files in DIR", "Go heap, about 1.8x the memory of RAM-backed
// files" or "disk in DIR".
func (s *Storage) Where() string {
	switch s.mode {
	case ModeTmpfs:
		return "RAM-backed files in " + s.dir
	case ModeHeap:
		return "Go heap, " + HeapCost
	}
	return "disk in " + s.dir
}

// ApplyConfig applies storage.tsdb (retention, out-of-order window),
// storage.exemplars and remote_write. A retention size the config does not
// set is the one Open chose.
func (s *Storage) ApplyConfig(cfg *config.Config) error {
	c := *cfg
	if tc := cfg.StorageConfig.TSDBConfig; tc != nil && tc.Retention != nil {
		t, r := *tc, *tc.Retention
		if r.Size == 0 && r.Percentage == 0 {
			r.Size = units.Base2Bytes(s.defaultSize)
		}
		t.Retention = &r
		c.StorageConfig.TSDBConfig = &t
	}
	if err := s.b.ApplyConfig(&c); err != nil {
		return err
	}
	if tc := c.StorageConfig.TSDBConfig; tc != nil && tc.Retention != nil && tc.Retention.Time > 0 {
		s.mu.Lock()
		s.retention = time.Duration(tc.Retention.Time)
		s.size = int64(tc.Retention.Size)
		s.mu.Unlock()
	}
	return s.rw.applyConfig(cfg)
}

// Querier implements storage.Queryable. With remote_read configured it is
// Prometheus's fanout: the local TSDB first, the remote storages after it
// (each within its read_recent and required_matchers; a remote failure is
// a warning, not an error).
func (s *Storage) Querier(mint, maxt int64) (storage.Querier, error) {
	if s.rw.reading() {
		return storage.NewFanout(s.logger, s.b, s.rw.remote).Querier(mint, maxt)
	}
	return s.b.Querier(mint, maxt)
}

// ChunkQuerier implements storage.ChunkQueryable, with remote_read as
// Querier.
func (s *Storage) ChunkQuerier(mint, maxt int64) (storage.ChunkQuerier, error) {
	if s.rw.reading() {
		return storage.NewFanout(s.logger, s.b, s.rw.remote).ChunkQuerier(mint, maxt)
	}
	return s.b.ChunkQuerier(mint, maxt)
}

// Appender implements storage.Appendable. Samples also go to remote write
// when it is configured.
func (s *Storage) Appender(ctx context.Context) storage.Appender {
	return s.withRemote(s.b).Appender(ctx)
}

// AppenderV2 implements storage.AppendableV2.
func (s *Storage) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return s.withRemote(s.b).AppenderV2(ctx)
}

// ExemplarQuerier implements storage.ExemplarQueryable.
func (s *Storage) ExemplarQuerier(ctx context.Context) (storage.ExemplarQuerier, error) {
	return s.b.ExemplarQuerier(ctx)
}

// StartTime implements storage.Storage: the oldest timestamp held.
func (s *Storage) StartTime() (int64, error) { return s.b.StartTime() }

// Stats implements the v1 API's TSDB status source.
func (s *Storage) Stats(statsByLabelName string, limit int) (*tsdb.Stats, error) {
	return s.b.Head().Stats(statsByLabelName, limit), nil
}

// WALReplayStatus implements the v1 API's replay status; in memory nothing
// is replayed.
func (s *Storage) WALReplayStatus() (tsdb.WALReplayStatus, error) {
	return s.b.WALReplayStatus(), nil
}

// BlockMetas lists the persisted blocks (none when chunks are in the heap).
func (s *Storage) BlockMetas() ([]tsdb.BlockMeta, error) { return s.b.BlockMetas(), nil }

// Delete marks matching series deleted in [mint, maxt] (admin API).
func (s *Storage) Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	return s.b.Delete(ctx, mint, maxt, ms...)
}

// CleanTombstones rewrites blocks without deleted data (admin API).
func (s *Storage) CleanTombstones() error { return s.b.CleanTombstones() }

// ErrSnapshotUnsupported is returned by Snapshot in memory: the private
// directory it would be written to is removed at exit.
var ErrSnapshotUnsupported = errors.New("snapshots need on-disk storage (--storage.tsdb.path)")

// Snapshot writes a snapshot into dir (admin API), on disk only.
func (s *Storage) Snapshot(dir string, withHead bool) error { return s.b.Snapshot(dir, withHead) }

// Retention is how long samples are kept.
func (s *Storage) Retention() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retention
}

// RetentionSize is the most bytes kept (0: no bound), once a config is
// applied.
func (s *Storage) RetentionSize() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// Head exposes the head for self-metrics and tests.
func (s *Storage) Head() *tsdb.Head { return s.b.Head() }

// Durable reports whether the storage is on disk.
func (s *Storage) Durable() bool { return s.mode == ModeDisk }

// Dir is where the storage keeps its files: the data directory on disk, the
// private directory (removed by Close) in memory.
func (s *Storage) Dir() string { return s.dir }

// Close flushes remote write, closes the TSDB and removes the private
// directory. It is safe to call more than once, and after a failed Open.
func (s *Storage) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.snap != nil {
			s.snap.stopPeriodic()
		}
		if s.rw != nil {
			errs = append(errs, s.rw.close())
		}
		if s.b != nil {
			errs = append(errs, s.b.Close())
		}
		if s.priv != nil {
			errs = append(errs, s.priv.close())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func (s *Storage) collectors() []prometheus.Collector {
	seconds := func(ms int64) float64 { return float64(ms / 1000) }
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_lowest_timestamp_seconds",
			Help: "Lowest timestamp value stored in the database.",
		}, func() float64 { t, _ := s.StartTime(); return seconds(t) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_min_time_seconds",
			Help: "Minimum time bound of the head block.",
		}, func() float64 { return seconds(s.Head().MinTime()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_head_max_time_seconds",
			Help: "Maximum timestamp of the head block.",
		}, func() float64 { return seconds(s.Head().MaxTime()) }),
	}
	if s.mode == ModeHeap {
		// The DB exports its retention limits itself.
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "prometheus_tsdb_retention_limit_seconds",
			Help: "Max age in seconds samples should be kept in the TSDB.",
		}, func() float64 { return s.Retention().Seconds() }))
	}
	return cs
}

// floatEncoding is the float chunk encoding new head chunks start with.
func (o Options) floatEncoding() chunkenc.Encoding {
	if o.StartTimestamps || o.FloatEncoding == chunkenc.EncXOR2 {
		return chunkenc.EncXOR2
	}
	return chunkenc.EncXOR
}

// floatEncodingOf is the encoding storage.tsdb.chunk_encoding.floats asks
// for, or def when the field is absent, as upstream's DB.ApplyConfig reads it.
func floatEncodingOf(cfg *config.Config, def chunkenc.Encoding) (chunkenc.Encoding, error) {
	tc := cfg.StorageConfig.TSDBConfig
	if tc == nil {
		return def, nil
	}
	switch f := tc.ChunkEncoding.Floats; f {
	case "":
		return def, nil
	case config.FloatChunkEncodingXOR:
		return chunkenc.EncXOR, nil
	case config.FloatChunkEncodingXOR2:
		return chunkenc.EncXOR2, nil
	default:
		return 0, fmt.Errorf("storage.tsdb.chunk_encoding.floats: unsupported float chunk encoding %q; valid values are %q and %q", f, config.FloatChunkEncodingXOR, config.FloatChunkEncodingXOR2)
	}
}
