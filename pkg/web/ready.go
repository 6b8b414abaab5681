package web

import (
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Readiness is the server's lifecycle state as the ready-gated endpoints see
// it: not ready while starting, ready, then stopping.
type Readiness struct {
	state atomic.Int32
	gauge prometheus.Gauge
}

// NewReadiness returns a not-ready state, exported as prometheus_ready.
func NewReadiness(reg prometheus.Registerer) *Readiness {
	r := &Readiness{gauge: prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "prometheus_ready",
		Help: "Whether Prometheus startup was fully completed and the server is ready for normal operation.",
	})}
	reg.MustRegister(r.gauge)
	return r
}

const (
	notReady int32 = iota
	ready
	stopping
)

// SetReady marks the server ready to serve queries.
func (r *Readiness) SetReady() {
	r.state.Store(ready)
	r.gauge.Set(1)
}

// SetStopping marks the server as shutting down.
func (r *Readiness) SetStopping() {
	r.state.Store(stopping)
	r.gauge.Set(0)
}

// IsReady reports whether the server is ready.
func (r *Readiness) IsReady() bool { return r.state.Load() == ready }

// Wrap answers 503 in place of f until the server is ready, with
// Prometheus's X-Prometheus-Stopping header.
func (r *Readiness) Wrap(f http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		switch r.state.Load() {
		case ready:
			f(w, req)
		default:
			w.Header().Set("X-Prometheus-Stopping", fmt.Sprint(r.state.Load() == stopping))
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "Service Unavailable")
		}
	}
}
