package server

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	promstorage "github.com/prometheus/prometheus/storage"

	"github.com/miniprom/miniprom/pkg/querycache"
	"github.com/miniprom/miniprom/pkg/storage"
)

// DefaultQueryCacheSize is the range query results cache's memory budget
// when Options.QueryCacheSize is zero: room for a few hundred dashboard
// panels (a 6h panel of 100 series at a 30s step holds about 1 MiB).
const DefaultQueryCacheSize = 64 << 20

// trackedStorage is the server's storage: every write and delete is
// reported to the range query results cache's tracker. It is the only
// handle the server keeps, so whatever writes (scrapes, rules, the
// receivers, admin deletes) cannot miss the tracker.
type trackedStorage struct {
	*storage.Storage
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

// queryCache is the range query results cache (pkg/querycache) wired into
// the server. The server hands it facts (options, features, each config
// applied); the cache decides what it may answer.
type queryCache struct {
	// engine is what the API runs queries with: the cache's, or the
	// engine itself when the cache is off.
	engine promql.QueryEngine
	cache  *querycache.Engine // nil when off
}

func newQueryCache(logger *slog.Logger, reg prometheus.Registerer, st trackedStorage, engine *promql.Engine, o Options) *queryCache {
	if o.QueryCacheSize < 0 {
		logger.Info("Range query results cache is off (--query.cache-size=0)")
		return &queryCache{engine: engine}
	}
	f := o.Features
	cache := querycache.NewEngine(engine, querycache.Options{
		MaxBytes:      o.QueryCacheSize,
		LookbackDelta: o.Query.LookbackDelta,
		Tracker:       st.tracker,
		Storage:       st.Storage,
		Parser:        f.parser(),
		Features: querycache.Features{
			DelayedNameRemoval: f.DelayedNameRemoval,
			TypeAndUnitLabels:  f.TypeAndUnitLabels,
			QueryCost:          f.QueryCost,
		},
		Registerer: reg,
	})
	return &queryCache{engine: cache, cache: cache}
}

// applyConfig tells the cache the configuration now in force.
func (c *queryCache) applyConfig(cfg *config.Config) error {
	if c.cache == nil {
		return nil
	}
	return c.cache.ApplyConfig(cfg)
}
