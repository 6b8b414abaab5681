package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/tsdb"
)

// Snapshots keep in-memory data across restarts (--storage.memory.snapshot-dir).
//
// The snapshot directory on a disk holds at most these entries of ours:
//
//	current/   the newest complete snapshot: upstream block directories
//	previous/  the one before, only while current is being swapped in
//	.tmp-*/    a snapshot being written (never complete)
//	aside/     what a start could not load, moved there, never deleted
//
// A write goes to .tmp-*, is fsynced file by file and directory by
// directory, and is swapped in by renames: current becomes previous, the
// new one becomes current, previous is removed. At every instant current,
// or else previous, is a complete snapshot, so a kill -9 or a full disk at
// any point leaves one to start from. The writer only ever removes what it
// wrote itself or what the start loaded into memory; the start moves
// everything it does not load into aside/ (loadSnapshot).
const (
	snapshotCurrent  = "current"
	snapshotPrevious = "previous"
	snapshotTmp      = ".tmp-"
	snapshotAside    = "aside"
	// snapshotStaging is where the TSDB writes a snapshot first, inside
	// the private RAM-backed directory: upstream hardlinks the blocks,
	// which only works on their own filesystem.
	snapshotStaging = "snapshot-staging"
)

// snapshotter writes the TSDB to the snapshot directory, one write at a
// time, at shutdown and every interval.
type snapshotter struct {
	dir      string // on a disk
	interval time.Duration
	db       *tsdb.DB
	staging  string
	logger   *slog.Logger
	m        snapshotMetrics

	mu   sync.Mutex // one write at a time
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

type snapshotMetrics struct {
	lastSuccessTime prometheus.Gauge
	lastDuration    prometheus.Gauge
	lastSize        prometheus.Gauge
	lastSuccess     prometheus.Gauge
	failures        prometheus.Counter
}

func newSnapshotMetrics(reg prometheus.Registerer) snapshotMetrics {
	m := snapshotMetrics{
		lastSuccessTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "miniprom_snapshot_last_success_timestamp_seconds",
			Help: "When the last snapshot to --storage.memory.snapshot-dir that succeeded was complete.",
		}),
		lastDuration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "miniprom_snapshot_last_duration_seconds",
			Help: "How long the last snapshot took, whether it succeeded or not.",
		}),
		lastSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "miniprom_snapshot_last_size_bytes",
			Help: "Bytes on disk of the last snapshot that succeeded.",
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "miniprom_snapshot_last_success",
			Help: "Whether the last snapshot succeeded (1) or failed (0).",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "miniprom_snapshot_failures_total",
			Help: "Snapshots that failed; the previous snapshot was kept each time.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.lastSuccessTime, m.lastDuration, m.lastSize, m.lastSuccess, m.failures)
	}
	return m
}

// start runs the periodic snapshots, if any.
func (s *snapshotter) start() {
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	if s.interval <= 0 {
		close(s.done)
		return
	}
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				// Logged and counted by write; the next tick tries again.
				_ = s.write()
			}
		}
	}()
}

// stopPeriodic stops the periodic snapshots and waits for one under way.
func (s *snapshotter) stopPeriodic() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
}

// write takes a snapshot of the blocks and the head and swaps it in.
func (s *snapshotter) write() (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	size, err := s.writeLocked()
	took := time.Since(start)
	s.m.lastDuration.Set(took.Seconds())
	if err != nil {
		s.m.lastSuccess.Set(0)
		s.m.failures.Inc()
		s.logger.Error("Snapshot failed; the previous snapshot, if any, is kept", "dir", s.dir, "duration", took, "err", err)
		return fmt.Errorf("snapshot to %s: %w", s.dir, err)
	}
	s.m.lastSuccess.Set(1)
	s.m.lastSize.Set(float64(size))
	s.m.lastSuccessTime.Set(float64(time.Now().UnixNano()) / 1e9)
	s.logger.Info("Snapshot written", "dir", filepath.Join(s.dir, snapshotCurrent), "bytes", size, "duration", took)
	return nil
}

func (s *snapshotter) writeLocked() (int64, error) {
	if err := os.RemoveAll(s.staging); err != nil {
		return 0, err
	}
	defer os.RemoveAll(s.staging)
	// Upstream's snapshot of the head leaves out its out-of-order part:
	// compact that into blocks first, as the TSDB does by itself later.
	if err := s.db.CompactOOOHead(context.Background()); err != nil {
		return 0, err
	}
	if err := s.db.Snapshot(s.staging, true); err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp(s.dir, snapshotTmp+"*")
	if err != nil {
		return 0, err
	}
	size, err := copyTree(s.staging, tmp)
	if err == nil {
		err = syncDir(tmp)
	}
	if err == nil {
		err = swapIn(s.dir, tmp)
	}
	if err != nil {
		// Only what this write made is removed.
		return 0, errors.Join(err, os.RemoveAll(tmp))
	}
	return size, nil
}

// swapIn makes the complete snapshot tmp the current one. A current
// snapshot becomes previous first; a previous one alone is what a swap
// cut short left, the only complete snapshot, and is kept until tmp is
// current.
func swapIn(dir, tmp string) error {
	cur, prev := filepath.Join(dir, snapshotCurrent), filepath.Join(dir, snapshotPrevious)
	if exists(cur) {
		if err := os.RemoveAll(prev); err != nil {
			return err
		}
		if err := os.Rename(cur, prev); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, cur); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	if err := os.RemoveAll(prev); err != nil {
		return err
	}
	return syncDir(dir)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// copyTree copies the regular files and directories under src into dst,
// each file fsynced, each directory fsynced once its entries are in. It
// returns the bytes copied.
func copyTree(src, dst string) (int64, error) {
	var size int64
	var dirs []string
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			dirs = append(dirs, to)
			return os.MkdirAll(to, 0o755)
		case d.Type().IsRegular():
			n, err := copyFile(path, to)
			size += n
			return err
		default:
			return fmt.Errorf("%s: not a regular file", path)
		}
	})
	if err != nil {
		return size, err
	}
	// Deepest first, so a directory is synced after its subdirectories.
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := syncDir(dirs[i]); err != nil {
			return size, err
		}
	}
	return size, nil
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	return n, errors.Join(err, out.Close())
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}

// moveAside moves path into dir's aside/ directory under a name that says
// why and when, and returns the new path.
func moveAside(dir, path, why string) (string, error) {
	aside := filepath.Join(dir, snapshotAside)
	if err := os.MkdirAll(aside, 0o755); err != nil {
		return "", err
	}
	name := fmt.Sprintf("%s-%s-%s", time.Now().UTC().Format("20060102T150405.000000000Z"), why,
		strings.TrimPrefix(filepath.Base(path), "."))
	to := filepath.Join(aside, name)
	if err := os.Rename(path, to); err != nil {
		return "", err
	}
	return to, errors.Join(syncDir(filepath.Dir(path)), syncDir(aside))
}
