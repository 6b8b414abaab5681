package server

import (
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"time"

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

// returnFreeHeap gives the heap memory the process no longer uses back to
// the system, every interval while more than threshold bytes of it are
// free, until stop is closed. Go's own scavenger returns memory only down
// to the heap goal set at the last collection, and an idle server collects
// rarely: after a remote-write burst, a compaction or a heavy query, the
// pages the burst used stayed resident (65 MB idle beside 55 MB live on a
// realistic day). A forced collection costs a few milliseconds of CPU per
// interval on a heap of that size.
func returnFreeHeap(stop <-chan struct{}, interval time.Duration, threshold uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() > threshold {
			debug.FreeOSMemory()
		}
	}
}
