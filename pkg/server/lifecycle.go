package server

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// teardown is the one list of stop functions: each resource registers its
// own right after it is created, and the list runs backwards, once, at
// shutdown, after a failed New, or from Close on a server never run. So
// every path tears down the same things in the same order: HTTP (cancel
// queries, drain, wait for handlers), then the managers, then the engine,
// then the storage.
type teardown struct {
	logger *slog.Logger

	mu    sync.Mutex
	steps []teardownStep
	ran   bool
	err   error
}

type teardownStep struct {
	name string
	stop func() error
}

// onStop adds a stop function, to run before everything registered earlier.
func (t *teardown) onStop(name string, stop func() error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.steps = append(t.steps, teardownStep{name, stop})
}

// run runs the list backwards, once; later calls return the first outcome.
func (t *teardown) run() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ran {
		return t.err
	}
	t.ran = true
	var errs []error
	for _, st := range slices.Backward(t.steps) {
		start := time.Now()
		if err := st.stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", st.name, err))
		}
		t.logger.Debug("Stopped", "component", st.name, "duration", time.Since(start))
	}
	t.err = errors.Join(errs...)
	return t.err
}

// Close releases everything New acquired: listeners, managers, the query
// engine, the storage and its temporary directory. Run calls it on its way
// out; call it yourself for a Server that is never run. It is safe to call
// more than once.
func (s *Server) Close() error { return s.stops.run() }
