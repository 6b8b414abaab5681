package server

import (
	"log/slog"
	"sync"

	"github.com/prometheus/prometheus/tracing"
)

// tracer is upstream's tracing manager: the config file's tracing section
// sends the query engine's spans over OTLP (gRPC or HTTP), as in Prometheus.
// The tracer provider it installs is process-wide (OpenTelemetry's global),
// as in Prometheus.
type tracer struct {
	m    *tracing.Manager
	once sync.Once
}

func newTracer(logger *slog.Logger) *tracer {
	t := &tracer{m: tracing.NewManager(logger.With("component", "tracing"))}
	// Run installs the propagator and error handler, then waits for Stop.
	go t.m.Run()
	return t
}

// stop flushes pending spans and uninstalls the provider; safe to call
// more than once (shutdown and a failed New both close the server).
func (t *tracer) stop() {
	if t != nil {
		t.once.Do(t.m.Stop)
	}
}
