package web

import (
	"fmt"
	"net/http"
	"sync/atomic"
)

// Readiness is the server's lifecycle state as the ready-gated endpoints see
// it: not ready while starting, ready, then stopping.
type Readiness struct {
	state atomic.Int32
}

const (
	notReady int32 = iota
	ready
	stopping
)

// SetReady marks the server ready to serve queries.
func (r *Readiness) SetReady() { r.state.Store(ready) }

// SetStopping marks the server as shutting down.
func (r *Readiness) SetStopping() { r.state.Store(stopping) }

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
