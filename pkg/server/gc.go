package server

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"

	"github.com/prometheus/prometheus/config"
)

// applyGoGC sets the garbage collector's target from global.runtime.gogc,
// at start and at every reload, as Prometheus 3 does. Upstream's config
// loader fills in its default (75, or the GOGC environment variable). With
// full chunks held outside the heap, the heap holds mostly series and
// postings, and a lower target than Go's 100 keeps RSS close to live data.
// GOGC is written back to the environment because runtime info reads it.
func applyGoGC(logger *slog.Logger, cfg *config.Config) {
	gogc := cfg.Runtime.GoGC
	if old := debug.SetGCPercent(gogc); old != gogc {
		logger.Info("Updated GOGC", "old", old, "new", gogc)
	}
	v := "off"
	if gogc >= 0 {
		v = strconv.Itoa(gogc)
	}
	_ = os.Setenv("GOGC", v)
}
