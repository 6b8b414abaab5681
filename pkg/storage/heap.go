package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// heapBackend is the upstream TSDB head alone, its chunks in the Go heap:
// the fallback when no RAM-backed directory has room. There is no WAL and
// no block; retention truncates the head itself. Out-of-order samples need
// the DB's querier and size-based retention needs files to measure, so
// both are refused here with a message rather than accepted and lost.
type heapBackend struct {
	head      *tsdb.Head
	opts      *tsdb.HeadOptions // the head's own: its float encoding changes at a reload
	encoding  chunkenc.Encoding // at start; chunk_encoding.floats overrides it
	logger    *slog.Logger
	retention atomic.Int64 // milliseconds

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

var errHeapOnly = errors.New("chunks are held in the Go heap (no RAM-backed directory: see --storage.memory.dir)")

func openHeap(logger *slog.Logger, reg prometheus.Registerer, dir string, o Options, limit tsdb.SeriesLifecycleCallback) (*heapBackend, error) {
	if o.RetentionSize > 0 {
		return nil, fmt.Errorf("storage.tsdb.retention.size: %w; size-based retention needs a RAM-backed directory or --storage.tsdb.path", errHeapOnly)
	}
	ho := tsdb.DefaultHeadOptions()
	ho.ChunkDirRoot = dir
	// The head refuses samples older than half its chunk range, a window
	// kept for compaction into blocks. There are no blocks here, so let the
	// window span the whole retention.
	ho.ChunkRange = 2 * o.Retention.Milliseconds()
	ho.EnableExemplarStorage = o.MaxExemplars > 0
	ho.MaxExemplars.Store(o.MaxExemplars)
	ho.SeriesCallback = limit
	ho.FloatChunkEncoding.Store(uint32(o.floatEncoding()))
	if o.StartTimestamps {
		ho.EnableSTStorage.Store(true)
		ho.EnableHistogramSTEncoding.Store(true)
	}
	head, err := tsdb.NewHead(reg, logger.With("component", "tsdb"), nil, nil, ho, tsdb.NewHeadStats())
	if err == nil {
		err = head.Init(math.MinInt64)
	}
	if err != nil {
		return nil, fmt.Errorf("open in-memory TSDB: %w", err)
	}
	b := &heapBackend{head: head, opts: ho, encoding: o.floatEncoding(), logger: logger, stop: make(chan struct{}), done: make(chan struct{})}
	b.retention.Store(o.Retention.Milliseconds())
	go b.retentionLoop()
	return b, nil
}

// retentionInterval is how often expired samples are dropped. Head chunks are
// dropped whole, so memory tracks retention to within a chunk's span.
const retentionInterval = time.Minute

func (b *heapBackend) retentionLoop() {
	defer close(b.done)
	t := time.NewTicker(retentionInterval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			if err := b.enforceRetention(); err != nil {
				b.logger.Error("Dropping expired samples failed", "err", err)
			}
		}
	}
}

// enforceRetention drops samples older than the retention, measured back
// from the newest sample as Prometheus measures it from its newest block.
func (b *heapBackend) enforceRetention() error {
	if b.head.NumSeries() == 0 {
		return nil
	}
	mint := b.head.MaxTime() - b.retention.Load()
	if b.head.MinTime() >= mint {
		return nil
	}
	return b.head.Truncate(mint)
}

func (b *heapBackend) ApplyConfig(cfg *config.Config) error {
	// As upstream's DB.ApplyConfig: an absent field keeps the encoding
	// chosen at start.
	enc, err := floatEncodingOf(cfg, b.encoding)
	if err != nil {
		return err
	}
	if b.opts.EnableSTStorage.Load() && enc == chunkenc.EncXOR {
		return errors.New("storage.tsdb.chunk_encoding.floats: float chunk encoding \"xor\" is incompatible with start-timestamp storage; XOR chunks do not store start timestamps, use \"xor2\"")
	}
	tc := cfg.StorageConfig.TSDBConfig
	if tc != nil && tc.OutOfOrderTimeWindow > 0 {
		return fmt.Errorf("storage.tsdb.out_of_order_time_window: %w; out-of-order samples need a RAM-backed directory or --storage.tsdb.path", errHeapOnly)
	}
	if tc != nil && tc.Retention != nil {
		if tc.Retention.Size > 0 {
			return fmt.Errorf("storage.tsdb.retention.size: %w; size-based retention needs a RAM-backed directory or --storage.tsdb.path", errHeapOnly)
		}
		if tc.Retention.Time > 0 {
			b.retention.Store(time.Duration(tc.Retention.Time).Milliseconds())
		}
	}
	b.opts.FloatChunkEncoding.Store(uint32(enc))
	if cfg.StorageConfig.ExemplarsConfig != nil {
		b.head.ApplyConfig(cfg, nil)
	}
	return nil
}

func (b *heapBackend) Querier(mint, maxt int64) (storage.Querier, error) {
	return tsdb.NewBlockQuerier(tsdb.NewRangeHead(b.head, mint, maxt), mint, maxt)
}

func (b *heapBackend) ChunkQuerier(mint, maxt int64) (storage.ChunkQuerier, error) {
	return tsdb.NewBlockChunkQuerier(tsdb.NewRangeHead(b.head, mint, maxt), mint, maxt)
}

func (b *heapBackend) Head() *tsdb.Head                      { return b.head }
func (b *heapBackend) StartTime() (int64, error)             { return b.head.MinTime(), nil }
func (b *heapBackend) BlockMetas() []tsdb.BlockMeta          { return []tsdb.BlockMeta{} }
func (b *heapBackend) WALReplayStatus() tsdb.WALReplayStatus { return tsdb.WALReplayStatus{} }
func (b *heapBackend) Snapshot(string, bool) error           { return ErrSnapshotUnsupported }

// CleanTombstones is a no-op: the head applies deletions at query time and
// drops them with the data on truncation.
func (b *heapBackend) CleanTombstones() error { return nil }

func (b *heapBackend) Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	return b.head.Delete(ctx, mint, maxt, ms...)
}

func (b *heapBackend) Compact(context.Context) error { return b.enforceRetention() }

func (b *heapBackend) Close() error {
	b.once.Do(func() { close(b.stop) })
	<-b.done
	return b.head.Close()
}

func (b *heapBackend) Appender(ctx context.Context) storage.Appender { return b.head.Appender(ctx) }

func (b *heapBackend) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return b.head.AppenderV2(ctx)
}

func (b *heapBackend) ExemplarQuerier(ctx context.Context) (storage.ExemplarQuerier, error) {
	return b.head.ExemplarQuerier(ctx)
}
