package server

import (
	"context"
	"log/slog"
	"runtime"
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
	// split evaluates range queries in sub-ranges; nil with one core.
	split *querycache.SplitEngine
}

// splitMinSteps is the fewest steps of a sub-range of a split range query.
// Each sub-range selects and sets up every series again, so splitting costs
// CPU time: BenchmarkSplitSteps (pkg/querycache; sum by (zone) (rate[1m])
// at 60s over 10,000 series scraped every 15s) measured a split in two at
// 1.96× the whole evaluation's CPU time for 2 steps, 1.76× for 8, 1.55× for
// 16 and 1.21× for 32; two idle cores then answer 1.0, 1.1, 1.3 and 1.65×
// as fast. Over 100 series, where each query's own setup weighs more, 1.6×
// at 32 steps.
const splitMinSteps = 16

// newQueryCache wraps engine. Range queries are evaluated in concurrent
// sub-ranges (querycache.SplitEngine), with sub-range engines newSub makes,
// on as many cores as are idle; the cache evaluates the steps it does not
// hold through it.
func newQueryCache(logger *slog.Logger, reg prometheus.Registerer, st *storage.Storage, engine *promql.Engine, newSub func(parts int) *promql.Engine, o Options, cfg func() config.Config) *queryCache {
	tracker := querycache.NewTracker(0, nil, reg)
	c := &queryCache{
		tracker: tracker,
		engine:  engine,
		storage: trackedStorage{Storage: st, tracker: tracker},
	}
	// The cache's and the split's exactness are argued and tested for the
	// engine's default semantics. Delayed name removal and type and unit
	// labels change how series merge across steps; query-cost limits count
	// the samples an evaluation reads, which the cache reduces and a split
	// shares out. Until someone checks them, they turn both off.
	if f := o.Features; f.DelayedNameRemoval || f.TypeAndUnitLabels || f.QueryCost {
		logger.Info("Range query results cache and split evaluation are off: not proven exact with promql-delayed-name-removal, type-and-unit-labels or query-cost")
		return c
	}
	// The query log lists what the engine runs: with the cache, a refresh
	// would log only the steps evaluated, or nothing, and a split query
	// its sub-ranges. Samples read back through remote_read change without
	// the tracker knowing, and each sub-range would read them again.
	bypass := func() bool {
		c := cfg()
		return c.GlobalConfig.QueryLogFile != "" || len(c.RemoteReadConfigs) > 0
	}
	var inner promql.QueryEngine = engine
	if parts := runtime.GOMAXPROCS(0); parts > 1 {
		c.split = querycache.NewSplitEngine(engine, newSub(parts), querycache.SplitOptions{
			MaxParts:      parts,
			MinSteps:      splitMinSteps,
			MaxSamples:    o.Query.MaxSamples,
			Timeout:       o.Query.Timeout,
			LookbackDelta: o.Query.LookbackDelta,
			Parser:        o.Features.parser(),
			Bypass:        bypass,
			Registerer:    reg,
		})
		inner = c.split
	}
	c.engine = inner
	if o.QueryCacheSize <= 0 {
		logger.Info("Range query results cache is off (--query.cache-size=0)")
		return c
	}
	c.engine = querycache.NewEngine(inner, querycache.Options{
		MaxBytes:      o.QueryCacheSize,
		LookbackDelta: o.Query.LookbackDelta,
		Tracker:       tracker,
		StartTime:     (&blockWatch{blockMetas: st.BlockMetas, tracker: tracker}).startTime(st.StartTime),
		Parser:        o.Features.parser(),
		Bypass:        bypass,
		Registerer:    reg,
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
