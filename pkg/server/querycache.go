package server

import (
	"context"
	"log/slog"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	promstorage "github.com/prometheus/prometheus/storage"

	"github.com/miniprom/miniprom/pkg/querycache"
	"github.com/miniprom/miniprom/pkg/storage"
)

// DefaultQueryCacheSize is the range query results cache's default memory
// budget (DefaultOptions): room for a few hundred dashboard
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

// splitMinSteps is the fewest steps of a sub-range of a split range query.
// Each sub-range selects and sets up every series again, so splitting costs
// CPU time: BenchmarkSplitSteps (pkg/querycache; sum by (zone) (rate[1m])
// at 60s over 10,000 series scraped every 15s) measured a split in two at
// 1.96× the whole evaluation's CPU time for 2 steps, 1.76× for 8, 1.55× for
// 16 and 1.21× for 32; two idle cores then answer 1.0, 1.1, 1.3 and 1.65×
// as fast. Over 100 series, where each query's own setup weighs more, 1.6×
// at 32 steps.
const splitMinSteps = 16

// queryCache is the range query results cache (pkg/querycache) and the
// split evaluation of range queries wired into the server. The server
// hands them facts (options, features, each config applied); they decide
// what they may answer.
type queryCache struct {
	// engine is what the API runs queries with: the cache's, the split
	// engine when the cache is off, or the engine itself when both are.
	engine promql.QueryEngine
	cache  *querycache.Engine      // nil when off
	split  *querycache.SplitEngine // nil when off
}

// idleCores tells the split engine how many cores are idle
// (querycache.SchedulerIdleCores; tests that count splits replace it, as
// the scheduler's count depends on whatever else runs at that moment).
var idleCores = querycache.SchedulerIdleCores

// newQueryCache wraps engine. Range queries are evaluated in concurrent
// sub-ranges (querycache.SplitEngine), with sub-range engines newSub makes,
// on as many cores as are idle; the cache evaluates the steps it does not
// hold through it.
func newQueryCache(logger *slog.Logger, reg prometheus.Registerer, st trackedStorage, engine *promql.Engine, newSub func(parts int) *promql.Engine, o Options) *queryCache {
	f := o.Features
	features := querycache.Features{
		DelayedNameRemoval: f.DelayedNameRemoval,
		TypeAndUnitLabels:  f.TypeAndUnitLabels,
		QueryCost:          f.QueryCost,
	}
	c := &queryCache{engine: engine}
	if parts := runtime.GOMAXPROCS(0); parts > 1 {
		c.split = querycache.NewSplitEngine(engine, newSub(parts), querycache.SplitOptions{
			MaxParts:      parts,
			MinSteps:      splitMinSteps,
			MaxSamples:    o.Query.MaxSamples,
			Timeout:       o.Query.Timeout,
			LookbackDelta: o.Query.LookbackDelta,
			Parser:        f.parser(),
			Features:      features,
			IdleCores:     idleCores,
			Registerer:    reg,
		})
		c.engine = c.split
	}
	if o.QueryCacheSize <= 0 {
		logger.Info("Range query results cache is off (--query.cache-size=0)")
		return c
	}
	c.cache = querycache.NewEngine(c.engine, querycache.Options{
		MaxBytes:      o.QueryCacheSize,
		LookbackDelta: o.Query.LookbackDelta,
		Tracker:       st.tracker,
		Storage:       st.Storage,
		Parser:        f.parser(),
		Features:      features,
		Registerer:    reg,
	})
	c.engine = c.cache
	return c
}

// applyConfig tells the cache and the split engine the configuration now
// in force.
func (c *queryCache) applyConfig(cfg *config.Config) error {
	if c.split != nil {
		c.split.ApplyConfig(cfg)
	}
	if c.cache == nil {
		return nil
	}
	return c.cache.ApplyConfig(cfg)
}
