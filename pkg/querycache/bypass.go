package querycache

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/promql"
)

// Why a range query was answered by the engine alone: the values of the
// reason label of miniprom_query_cache_range_queries_total{result="bypass"}.
const (
	// Before evaluating: the query is not one the cache keeps.
	reasonExpression   = "expression"    // plan.go refuses the expression
	reasonSubqueryStep = "subquery_step" // a subquery's windows leave gaps at this step (plan.go)
	reasonStepGrid     = "step_grid"     // a step or start that is not a whole number of ms
	reasonStats        = "stats"         // statistics asked for (stats=, per-step statistics)
	reasonQueryLog     = "query_log"     // global.query_log_file is set
	reasonRemoteRead   = "remote_read"   // remote_read is configured
	reasonFeature      = "feature"       // an engine feature the cache is not proven exact with
	// While evaluating: the engine's answer for the whole range is given.
	reasonWarnings   = "warnings"    // an evaluation failed or carried warnings
	reasonChanged    = "changed"     // the epoch changed while evaluating (epoch.go)
	reasonAnnotation = "annotations" // the cached steps' annotations are unknown (see infoOnly)
	reasonStorage    = "storage"     // storage failed to tell its epoch
)

var bypassReasons = []string{
	reasonExpression, reasonSubqueryStep, reasonStepGrid, reasonStats, reasonQueryLog, reasonRemoteRead,
	reasonFeature, reasonWarnings, reasonChanged, reasonAnnotation, reasonStorage,
}

// Features are the engine's features that change what a query answers.
// The cache's exactness is argued and tested for the engine's default
// semantics: delayed name removal and type and unit labels change how
// series merge across steps; query-cost limits count the samples an
// evaluation reads, which the cache reduces. Until someone checks them,
// each sends every range query to the engine.
type Features struct {
	DelayedNameRemoval bool
	TypeAndUnitLabels  bool
	QueryCost          bool
}

func (f Features) unproven() bool { return f.DelayedNameRemoval || f.TypeAndUnitLabels || f.QueryCost }

type statsKey struct{}

// StatsRequested marks a request whose answer carries the statistics of
// its evaluation (the API's stats=): the cache would count the work of the
// steps it evaluated only, so it leaves such a range query to the engine.
// Per-step statistics reach the cache in the query's options.
func StatsRequested(ctx context.Context) context.Context {
	return context.WithValue(ctx, statsKey{}, true)
}

// configBypass is the reason the current configuration sends every range
// query to the engine, or "".
type configBypass struct{ reason atomic.Pointer[string] }

// ApplyConfig takes the configuration the server now runs with, and drops
// every cached answer, which predates it (a subquery without a step uses
// its evaluation interval). With a query log, every query must reach the
// engine, which logs what it runs: with the cache, a refresh would log
// only the steps evaluated, or nothing. Samples read back through
// remote_read change without the tracker knowing.
func (e *Engine) ApplyConfig(cfg *config.Config) error {
	e.config.apply(cfg)
	e.o.Tracker.Invalidate()
	return nil
}

// ApplyConfig takes the configuration the server now runs with: with a
// query log or remote_read, no range query is split, for the reasons the
// cache's ApplyConfig gives (the query log would list sub-ranges, and each
// sub-range would read the remote storages again).
func (e *SplitEngine) ApplyConfig(cfg *config.Config) { e.config.apply(cfg) }

func (cb *configBypass) apply(cfg *config.Config) {
	reason := ""
	switch {
	case cfg.GlobalConfig.QueryLogFile != "":
		reason = reasonQueryLog
	case len(cfg.RemoteReadConfigs) > 0:
		reason = reasonRemoteRead
	}
	cb.reason.Store(&reason)
}

// planFor returns the plan of a range query, or why the cache leaves it to
// the engine.
func (e *Engine) planFor(ctx context.Context, opts promql.QueryOpts, qs string, start time.Time, step, lookback time.Duration) (plan, string) {
	return decide(ctx, e.plans, e.o.Features, &e.config, opts, qs, start, step, lookback)
}

// decide returns the plan of a range query whose steps may be evaluated
// apart and stitched together (cached, or split into sub-ranges by
// split.go), or why they may not. Every rule deciding that before
// evaluation is here or in plan.go.
func decide(ctx context.Context, ps *plans, f Features, cb *configBypass, opts promql.QueryOpts, qs string, start time.Time, step, lookback time.Duration) (plan, string) {
	if f.unproven() {
		return plan{}, reasonFeature
	}
	if r := cb.reason.Load(); r != nil && *r != "" {
		return plan{}, *r
	}
	if ctx.Value(statsKey{}) != nil || (opts != nil && opts.EnablePerStepStats()) {
		return plan{}, reasonStats
	}
	if step <= 0 || step%time.Millisecond != 0 || start.UnixNano()%int64(time.Millisecond) != 0 {
		return plan{}, reasonStepGrid
	}
	p, ok := ps.get(qs, lookback)
	if !ok {
		return plan{}, reasonExpression
	}
	if p.maxStep > 0 && step.Milliseconds() > p.maxStep {
		return plan{}, reasonSubqueryStep
	}
	return p, ""
}
