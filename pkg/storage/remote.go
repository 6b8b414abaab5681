package storage

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"
	"github.com/prometheus/prometheus/tsdb/agent"
	"github.com/prometheus/prometheus/util/compression"
)

// remoteWrite sends samples to remote_write endpoints with upstream's
// storage/remote, whose queues tail a WAL rather than take samples directly.
//
// On disk (durable mode) they tail the TSDB's own WAL, as in Prometheus. In
// memory there is no such WAL, and giving the head one would not do: its WAL
// is only truncated with the head, so it would hold the whole retention
// (a day by default) on disk, and a head cannot gain a WAL once running, so
// a reload could not turn remote write on. Instead, the first time
// remote_write is configured, miniprom opens upstream's agent-mode WAL
// storage (tsdb/agent, what `prometheus --agent` runs on) in its private temp
// directory and writes every sample to it besides the head. The agent WAL is
// truncated on what the queues have sent: it keeps at least 5m and at most
// 4h, checked every 2h (the agent's defaults). Once opened, it stays
// open until Close; while remote_write is unconfigured nothing is written to
// it and truncation empties it.
type remoteWrite struct {
	logger *slog.Logger
	reg    prometheus.Registerer
	remote *remote.Storage
	// walDir is the agent storage directory (in memory) or "" on disk, where
	// the TSDB writes the WAL the queues read.
	walDir string

	mu   sync.RWMutex
	wal  *agent.DB // in memory: opened with the first remote_write
	on   bool      // remote_write configured: samples also go to the WAL
	read bool      // remote_read configured: queries also ask the remote storages
}

func newRemoteWrite(logger *slog.Logger, reg prometheus.Registerer, startTime func() (int64, error), dir, walDir string, o Options) *remoteWrite {
	logger = logger.With("component", "remote")
	return &remoteWrite{
		logger: logger,
		reg:    reg,
		remote: remote.NewStorage(logger, reg, startTime, dir, o.RemoteFlushDeadline, nil, false),
		walDir: walDir,
	}
}

// applyConfig opens the WAL before the queues that read it start, and stops
// writing to it only after they stop.
func (rw *remoteWrite) applyConfig(cfg *config.Config) error {
	want := len(cfg.RemoteWriteConfigs) > 0
	if want && rw.walDir != "" {
		if err := rw.openWAL(); err != nil {
			return err
		}
	}
	if err := rw.remote.ApplyConfig(cfg); err != nil {
		return fmt.Errorf("remote write: %w", err)
	}
	rw.mu.Lock()
	rw.on = want
	rw.read = len(cfg.RemoteReadConfigs) > 0
	rw.mu.Unlock()
	return nil
}

// reading reports whether remote_read is configured.
func (rw *remoteWrite) reading() bool {
	rw.mu.RLock()
	defer rw.mu.RUnlock()
	return rw.read
}

func (rw *remoteWrite) openWAL() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.wal != nil {
		return nil
	}
	o := agent.DefaultOptions()
	o.WALCompression = compression.Snappy
	o.NoLockfile = true // the directory is private to this process
	db, err := agent.Open(rw.logger.With("wal", "remote_write"), rw.reg, rw.remote, rw.walDir, o)
	if err != nil {
		return fmt.Errorf("open remote write WAL in %s: %w", rw.walDir, err)
	}
	// Wake the queues on each commit instead of their 15s poll.
	db.SetWriteNotified(rw.remote)
	rw.wal = db
	rw.logger.Info("Remote write WAL opened", "dir", filepath.Join(rw.walDir, "wal"))
	return nil
}

// secondaries are the storages a sample goes to after the local one: the
// remote write WAL (in memory, while remote_write is configured) and the
// remote storage's timestamp tracker, which the queues read to size their
// shards.
func (rw *remoteWrite) secondaries() []storage.Storage {
	rw.mu.RLock()
	defer rw.mu.RUnlock()
	if !rw.on {
		return nil
	}
	if rw.wal == nil {
		return []storage.Storage{rw.remote}
	}
	return []storage.Storage{refless{rw.wal}, rw.remote}
}

// close flushes the queues (bounded by the flush deadline), then closes the
// WAL.
func (rw *remoteWrite) close() error {
	err := rw.remote.Close()
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.wal != nil {
		if cerr := rw.wal.Close(); cerr != nil && err == nil {
			err = cerr
		}
		rw.wal = nil
	}
	return err
}

// withRemote wraps the local storage's appenders so that samples also reach
// remote write. Upstream's fanout does the dispatching.
func (s *Storage) withRemote(local storage.Storage) storage.Storage {
	sec := s.rw.secondaries()
	if len(sec) == 0 {
		return local
	}
	return storage.NewFanout(s.logger, local, sec...)
}

// refless hides the primary's series references from the agent WAL. The
// fanout hands every secondary the reference the primary returned, which is
// right for storages that ignore it but wrong for the agent storage: it
// would look the head's reference up among its own and could find another
// series. With ref 0 the agent looks the series up by its labels.
type refless struct{ *agent.DB }

func (r refless) Appender(ctx context.Context) storage.Appender {
	return reflessAppender{r.DB.Appender(ctx)}
}

func (r refless) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return reflessAppenderV2{r.DB.AppenderV2(ctx).(storage.ExemplarAppenderV2)}
}

type reflessAppenderV2 struct{ storage.ExemplarAppenderV2 }

func (a reflessAppenderV2) Append(_ storage.SeriesRef, l labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, o storage.AOptions) (storage.SeriesRef, error) {
	return a.ExemplarAppenderV2.Append(0, l, st, t, v, h, fh, o)
}

func (a reflessAppenderV2) AppendExemplars(_ storage.SeriesRef, l labels.Labels, es []exemplar.Exemplar) (storage.SeriesRef, error) {
	return a.ExemplarAppenderV2.AppendExemplars(0, l, es)
}

type reflessAppender struct{ storage.Appender }

func (a reflessAppender) Append(_ storage.SeriesRef, l labels.Labels, t int64, v float64) (storage.SeriesRef, error) {
	return a.Appender.Append(0, l, t, v)
}

func (a reflessAppender) AppendExemplar(_ storage.SeriesRef, l labels.Labels, e exemplar.Exemplar) (storage.SeriesRef, error) {
	return a.Appender.AppendExemplar(0, l, e)
}

func (a reflessAppender) AppendHistogram(_ storage.SeriesRef, l labels.Labels, t int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	return a.Appender.AppendHistogram(0, l, t, h, fh)
}

func (a reflessAppender) AppendHistogramSTZeroSample(_ storage.SeriesRef, l labels.Labels, t, st int64, h *histogram.Histogram, fh *histogram.FloatHistogram) (storage.SeriesRef, error) {
	return a.Appender.AppendHistogramSTZeroSample(0, l, t, st, h, fh)
}

func (a reflessAppender) AppendSTZeroSample(_ storage.SeriesRef, l labels.Labels, t, st int64) (storage.SeriesRef, error) {
	return a.Appender.AppendSTZeroSample(0, l, t, st)
}

func (a reflessAppender) UpdateMetadata(_ storage.SeriesRef, l labels.Labels, m metadata.Metadata) (storage.SeriesRef, error) {
	return a.Appender.UpdateMetadata(0, l, m)
}
