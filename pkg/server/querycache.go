package server

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	promstorage "github.com/prometheus/prometheus/storage"

	"github.com/miniprom/miniprom/pkg/api"
	"github.com/miniprom/miniprom/pkg/querycache"
	"github.com/miniprom/miniprom/pkg/storage"
)

// DefaultQueryCacheSize is the range query results cache's memory budget
// when Options.QueryCacheSize is zero: room for a few hundred dashboard
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
	if o.QueryCacheSize < 0 {
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
		StartTime:     st.StartTime,
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
