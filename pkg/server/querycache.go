package server

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/miniprom/miniprom/pkg/api"
	"github.com/miniprom/miniprom/pkg/querycache"
	"github.com/miniprom/miniprom/pkg/storage"
)

// DefaultQueryCacheSize is the range query results cache's default memory
// budget (DefaultOptions): room for a few hundred dashboard
// panels (a 6h panel of 100 series at a 30s step holds about 1 MiB).
const DefaultQueryCacheSize = 64 << 20

// queryCache is the range query results cache (pkg/querycache) wired into
// the server: everything that writes samples goes through its tracker, so
// that backfill invalidates it; admin deletes and reloads invalidate it too.
type queryCache struct {
	tracker *querycache.Tracker
	engine  promql.QueryEngine
	// storage is what the API reads and writes: the storage, with the
	// receivers' appenders and the admin deletes tracked.
	storage api.Storage
}

func newQueryCache(logger *slog.Logger, reg prometheus.Registerer, st *storage.Storage, engine *promql.Engine, o Options, cfg func() config.Config) *queryCache {
	tracker := querycache.NewTracker(0, nil, reg)
	c := &queryCache{
		tracker: tracker,
		engine:  engine,
		storage: trackedStorage{Storage: st, tracker: tracker},
	}
	if o.QueryCacheSize <= 0 {
		logger.Info("Range query results cache is off (--query.cache-size=0)")
		return c
	}
	// The cache's exactness is argued and tested for the engine's default
	// semantics. Delayed name removal and type and unit labels change how
	// series merge across steps; query-cost limits count the samples an
	// evaluation reads, which the cache reduces. Until someone checks them,
	// they turn it off.
	if f := o.Features; f.DelayedNameRemoval || f.TypeAndUnitLabels || f.QueryCost {
		logger.Info("Range query results cache is off: not proven exact with promql-delayed-name-removal, type-and-unit-labels or query-cost")
		return c
	}
	c.engine = querycache.NewEngine(engine, querycache.Options{
		MaxBytes:      o.QueryCacheSize,
		LookbackDelta: o.Query.LookbackDelta,
		Tracker:       tracker,
		StartTime:     (&blockWatch{blockMetas: st.BlockMetas, tracker: tracker}).startTime(st.StartTime),
		Parser:        o.Features.parser(),
		// The query log lists what the engine runs: with the cache, a
		// refresh would log only the steps evaluated, or nothing. Samples
		// read back through remote_read change without the tracker
		// knowing.
		Bypass: func() bool {
			c := cfg()
			return c.GlobalConfig.QueryLogFile != "" || len(c.RemoteReadConfigs) > 0
		},
		Registerer: reg,
	})
	return c
}

// appendable is the storage as the scrape and rule managers must write to it.
func (c *queryCache) appendable() promstorage.AppendableV2 { return c.storage }

// trackedStorage reports every write and delete to the tracker.
type trackedStorage struct {
	api.Storage
	tracker *querycache.Tracker
}

func (s trackedStorage) Appender(ctx context.Context) promstorage.Appender {
	return s.tracker.Appendable(s.Storage).Appender(ctx)
}

func (s trackedStorage) AppenderV2(ctx context.Context) promstorage.AppenderV2 {
	return s.tracker.AppendableV2(s.Storage).AppenderV2(ctx)
}

// Delete invalidates after the delete, whether or not it failed halfway.
func (s trackedStorage) Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	defer s.tracker.Invalidate()
	return s.Storage.Delete(ctx, mint, maxt, ms...)
}

// blockWatch invalidates the cache when the TSDB's blocks change. The TSDB
// loads blocks copied into its directory (a backfill with promtool tsdb
// create-blocks-from, a restored snapshot) at its next block reload, with
// no append the tracker sees, and unless the block is older than all
// others, the oldest sample storage holds does not move either. A block
// compaction wrote looks no different, so compactions invalidate too: each
// dashboard evaluates its whole range once more, about every two hours.
type blockWatch struct {
	blockMetas func() ([]tsdb.BlockMeta, error)
	tracker    *querycache.Tracker

	mu   sync.Mutex
	seen [][16]byte // the blocks' ULIDs
}

// startTime wraps storage's StartTime, which the cache reads before and
// after every evaluation, with a look at the blocks: a block loaded while
// a query ran then keeps its stitched answer from being served or cached.
func (w *blockWatch) startTime(f func() (int64, error)) func() (int64, error) {
	return func() (int64, error) {
		if err := w.check(); err != nil {
			return 0, err
		}
		return f()
	}
}

func (w *blockWatch) check() error {
	metas, err := w.blockMetas()
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(metas) == len(w.seen) && !slices.ContainsFunc(metas, func(m tsdb.BlockMeta) bool { return !slices.Contains(w.seen, [16]byte(m.ULID)) }) {
		return nil
	}
	w.seen = w.seen[:0]
	for _, m := range metas {
		w.seen = append(w.seen, [16]byte(m.ULID))
	}
	w.tracker.Invalidate()
	return nil
}
