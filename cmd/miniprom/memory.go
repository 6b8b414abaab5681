package main

import (
	"log/slog"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/alecthomas/kingpin/v2"

	"github.com/miniprom/miniprom/pkg/server"
	"github.com/miniprom/miniprom/pkg/storage"
)

// memoryFlags are miniprom's own flags about where and how much it holds
// in memory: --storage.memory.dir and --storage.max-series.
type memoryFlags struct {
	maxSeries int
}

// bytesPerSeries is what a series costs held for the default day at the
// default 15s interval: about 1 KiB of series, labels and postings, and
// 7 KiB of XOR chunks (5,760 samples). The default --storage.max-series is
// the memory available divided by it.
const bytesPerSeries = 8 << 10

func addMemoryFlags(a *kingpin.Application, o *server.Options, m *memoryFlags) {
	a.Flag("storage.memory.dir", `Where in-memory storage keeps full chunks and blocks, outside the Go heap: a directory on a RAM-backed filesystem (tmpfs), never a disk; a named directory that is not RAM-backed, or has less than 256MiB (or --storage.tsdb.retention.size) free, is refused at start. Empty picks /dev/shm when it is a tmpfs with 256MiB free, and the Go heap otherwise; "heap" keeps chunks in the Go heap (about 1.8x the memory). Ignored with --storage.tsdb.path.`).
		Default("").PlaceHolder("<dir>").StringVar(&o.MemoryDir)
	a.Flag("storage.max-series", "The most series held at once; new series beyond it are refused (scrapes keep their other series and show the refusal as the target's last error; remote write and OTLP answer 400). 0 derives it from the container or system memory (8KiB a series); -1 is no limit.").
		Default("0").IntVar(&m.maxSeries)
}

// applyMemoryFlags resolves the series bound from the container's or the
// system's memory (cgroup-aware, as --auto-gomemlimit).
func applyMemoryFlags(logger *slog.Logger, o *server.Options, m memoryFlags) {
	available := memlimit.ApplyFallback(memlimit.FromCgroup, memlimit.FromSystem)
	switch {
	case m.maxSeries < 0:
		o.MaxSeries = 0
	case m.maxSeries > 0:
		o.MaxSeries = m.maxSeries
	default:
		if mem, err := available(); err == nil && mem > 0 {
			o.MaxSeries = int(mem / bytesPerSeries)
		}
	}
	if o.StoragePath != "" && o.MemoryDir != storage.MemoryDirAuto {
		logger.Warn("--storage.memory.dir is ignored with --storage.tsdb.path", "dir", o.MemoryDir)
	}
}
