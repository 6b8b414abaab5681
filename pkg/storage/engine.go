package storage

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
)

// EngineOptions are the query limits, named after Prometheus's --query.* flags.
type EngineOptions struct {
	Timeout        time.Duration
	MaxSamples     int
	LookbackDelta  time.Duration
	MaxConcurrency int
}

// NewEngine returns the upstream PromQL engine configured as Prometheus
// configures it by default: @ modifier and negative offsets on.
//
// The concurrency limit is upstream's active query tracker, whose small
// memory-mapped file lives in the storage's private temp directory. Close the
// engine before the storage.
func (s *Storage) NewEngine(logger *slog.Logger, reg prometheus.Registerer, o EngineOptions) (*promql.Engine, error) {
	var tracker promql.QueryTracker
	if o.MaxConcurrency > 0 {
		t, err := promql.NewActiveQueryTracker(s.dir, o.MaxConcurrency, logger.With("component", "activeQueryTracker"))
		if err != nil {
			return nil, err
		}
		tracker = t
	}
	return promql.NewEngine(promql.EngineOpts{
		Logger:               logger.With("component", "query engine"),
		Reg:                  reg,
		MaxSamples:           o.MaxSamples,
		Timeout:              o.Timeout,
		ActiveQueryTracker:   tracker,
		LookbackDelta:        o.LookbackDelta,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		Parser:               parser.NewParser(parser.Options{}),
	}), nil
}
