package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/util/features"
	"github.com/prometheus/prometheus/util/logging"
)

// QueryOptions are the PromQL engine's limits, named after Prometheus's
// --query.* flags.
type QueryOptions struct {
	Timeout        time.Duration
	MaxSamples     int
	LookbackDelta  time.Duration
	MaxConcurrency int
}

// newEngine builds the upstream PromQL engine as Prometheus 3.16 does, with
// the query limits and the --enable-feature options: @ modifier and negative
// offsets always on, the rest as the features say.
//
// The concurrency limit is upstream's active query tracker, whose small
// memory-mapped file lives in the storage's directory (the private temp
// directory in memory mode). Close the engine before the storage.
func (s *Server) newEngine(r features.Collector) (*promql.Engine, error) {
	var tracker promql.QueryTracker
	if o := s.opts.Query; o.MaxConcurrency > 0 {
		t, err := promql.NewActiveQueryTracker(s.storage.Dir(), o.MaxConcurrency, s.logger.With("component", "activeQueryTracker"))
		if err != nil {
			return nil, err
		}
		tracker = t
	}
	opts := s.engineOpts()
	opts.Reg = engineRegisterer{Registerer: s.reg, splitting: s.splitting}
	opts.ActiveQueryTracker = tracker
	opts.FeatureRegistry = r
	return promql.NewEngine(opts), nil
}

// newSubRangeEngine builds the engine that evaluates the sub-ranges of a
// split range query (querycache.SplitEngine): the engine's options without
// the active query tracker (the split query holds one of the engine's
// slots for all its sub-ranges), without metrics of its own, and with a
// samples limit of --query.max-samples shared out among the parts that run
// at once.
func (s *Server) newSubRangeEngine(parts int) *promql.Engine {
	opts := s.engineOpts()
	opts.Logger = s.logger.With("component", "query engine", "sub-ranges", true)
	opts.MaxSamples /= parts
	return promql.NewEngine(opts)
}

// splitting is how many range queries are being evaluated in sub-ranges
// (querycache.SplitEngine) right now.
func (s *Server) splitting() float64 {
	if s.qcache == nil || s.qcache.split == nil {
		return 0
	}
	return float64(s.qcache.split.Splitting())
}

// engineRegisterer registers the engine's metrics, with
// prometheus_engine_queries also counting the range queries being
// evaluated in sub-ranges: the sub-range engine has no metrics, and a split
// query must show as one running query, as its whole evaluation would.
type engineRegisterer struct {
	prometheus.Registerer
	splitting func() float64
}

func (r engineRegisterer) Register(c prometheus.Collector) error {
	return r.Registerer.Register(r.wrap(c))
}

func (r engineRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		r.Registerer.MustRegister(r.wrap(c))
	}
}

func (r engineRegisterer) wrap(c prometheus.Collector) prometheus.Collector {
	if g, ok := c.(prometheus.Gauge); ok && strings.Contains(g.Desc().String(), `fqName: "prometheus_engine_queries"`) {
		return queriesGauge{g, r.splitting}
	}
	return c
}

// queriesGauge is the engine's gauge of running queries plus the split ones.
type queriesGauge struct {
	prometheus.Gauge
	splitting func() float64
}

func (q queriesGauge) Collect(ch chan<- prometheus.Metric) {
	var m dto.Metric
	if err := q.Write(&m); err != nil {
		ch <- prometheus.NewInvalidMetric(q.Desc(), err)
		return
	}
	ch <- prometheus.MustNewConstMetric(q.Desc(), prometheus.GaugeValue, m.GetGauge().GetValue()+q.splitting())
}

// engineOpts are the options of both engines.
func (s *Server) engineOpts() promql.EngineOpts {
	o, f := s.opts.Query, s.opts.Features
	return promql.EngineOpts{
		Logger:                   s.logger.With("component", "query engine"),
		MaxSamples:               o.MaxSamples,
		Timeout:                  o.Timeout,
		LookbackDelta:            o.LookbackDelta,
		NoStepSubqueryIntervalFn: s.noStepSubqueryInterval,
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		EnablePerStepStats:       f.PerStepStats,
		EnableDelayedNameRemoval: f.DelayedNameRemoval,
		EnableTypeAndUnitLabels:  f.TypeAndUnitLabels,
		UseStartTimestamps:       f.UseStartTimestamps,
		EnableQueryCost:          f.QueryCost,
		Parser:                   f.parser(),
	}
}

// noStepSubqueryInterval is the step of subqueries without one: the global
// evaluation interval, as in Prometheus.
func (s *Server) noStepSubqueryInterval(int64) int64 {
	return time.Duration(s.config().GlobalConfig.EvaluationInterval).Milliseconds()
}

// applyEngineConfig is the engine's part of a reload, as Prometheus's
// query_engine reloader: the query log file (global.query_log_file) and,
// with query-cost, the reloadable query limits.
func (s *Server) applyEngineConfig(cfg *config.Config) error {
	if s.opts.Features.QueryCost {
		s.engine.SetQueryLimits(cfg.GlobalConfig.QueryMaxSeries, cfg.GlobalConfig.QueryMaxSamplesRead, time.Duration(cfg.GlobalConfig.QueryMaxDuration))
	}
	if cfg.GlobalConfig.QueryLogFile == "" {
		s.engine.SetQueryLogger(nil)
		return nil
	}
	l, err := logging.NewJSONFileLogger(cfg.GlobalConfig.QueryLogFile)
	if err != nil {
		return fmt.Errorf("query log file: %w", err)
	}
	s.engine.SetQueryLogger(l)
	return nil
}
