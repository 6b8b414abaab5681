package main

import (
	"log/slog"
	"time"

	"github.com/KimMachineGun/automemlimit/memlimit"
	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/common/model"

	"github.com/miniprom/miniprom/pkg/server"
	"github.com/miniprom/miniprom/pkg/storage"
)

// memoryFlags are miniprom's own flags about where and how much it holds
// in memory: --storage.memory.dir, --storage.max-series and the
// --storage.memory.snapshot-* flags.
type memoryFlags struct {
	maxSeries        int
	snapshotInterval model.Duration
}

// bytesPerSeries is what a series costs held for the default day at the
// default 15s interval: about 1 KiB of series, labels and postings, and
// 7 KiB of XOR chunks (5,760 samples). The default --storage.max-series is
// the memory available divided by it.
const bytesPerSeries = 8 << 10

func addMemoryFlags(a *kingpin.Application, own *ownFlags, o *server.Options, m *memoryFlags) {
	own.flag(a, "storage.memory.dir", `Where in-memory storage keeps full chunks and blocks, outside the Go heap: a directory on a RAM-backed filesystem (tmpfs), never a disk; a named directory that is not RAM-backed, or has less than 256MiB (or --storage.tsdb.retention.size) free, is refused at start. Empty picks /dev/shm when it is a tmpfs with 256MiB free, and the Go heap otherwise; "heap" keeps chunks in the Go heap (about 1.8x the memory). Ignored with --storage.tsdb.path.`).
		Default("").PlaceHolder("<dir>").StringVar(&o.MemoryDir)
	own.flag(a, "storage.max-series", "The most series held at once; new series beyond it are refused (scrapes keep their other series and show the refusal as the target's last error; remote write and OTLP answer 400). 0 derives it from the container or system memory (8KiB a series); -1 is no limit.").
		Default("0").IntVar(&m.maxSeries)
	own.flag(a, "storage.memory.snapshot-dir", "A directory on a disk that keeps in-memory data across restarts: written at shutdown (SIGTERM, SIGINT, /-/quit), loaded at start. Not with --storage.tsdb.path.").
		PlaceHolder("<dir>").StringVar(&o.SnapshotDir)
	own.flag(a, "storage.memory.snapshot-interval", "Also write the snapshot this often; 0 writes it only at shutdown. Needs --storage.memory.snapshot-dir.").
		Default("0s").PlaceHolder("<duration>").SetValue(&m.snapshotInterval)
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
	o.SnapshotInterval = time.Duration(m.snapshotInterval)
	if o.StoragePath != "" && o.MemoryDir != storage.MemoryDirAuto {
		logger.Warn("--storage.memory.dir is ignored with --storage.tsdb.path", "dir", o.MemoryDir)
	}
}
