package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/prometheus/prometheus/tsdb/fileutil"
)

// Where in-memory mode keeps full chunks and blocks.
//
// A RAM-backed filesystem (tmpfs) holds files in memory outside the Go heap:
// the upstream TSDB memory-maps full head chunks and writes 2h blocks there
// at the size Prometheus stores on disk, and the garbage collector never
// scans, copies or doubles them. The data is still lost at exit, and never
// reaches a disk.
const (
	// MemoryDirAuto picks /dev/shm when it is RAM-backed and has room, and
	// falls back to heap-held chunks otherwise.
	MemoryDirAuto = ""
	// MemoryDirHeap keeps every chunk in the Go heap, as before tmpfs was
	// used (no out-of-order window, no size-based retention).
	MemoryDirHeap = "heap"
)

// autoMemoryDirs are tried, in order, by MemoryDirAuto.
var autoMemoryDirs = []string{"/dev/shm"}

// minMemoryDirFree is the room a RAM-backed directory needs for MemoryDirAuto
// to pick it. Docker gives containers a 64 MB /dev/shm: too small to hold
// data, so miniprom stays on the heap there unless told otherwise.
const minMemoryDirFree = 256 << 20

// errNotRAMBacked is returned for an explicit memory directory on a disk.
var errNotRAMBacked = errors.New("not on a RAM-backed filesystem (tmpfs or ramfs)")

// chooseMemoryDir resolves Options.MemoryDir to a RAM-backed directory, or
// "" for heap-held chunks. An explicit directory that is not RAM-backed is
// an error: miniprom never writes samples to a disk unasked.
func chooseMemoryDir(logger *slog.Logger, dir string) (string, error) {
	switch dir {
	case MemoryDirHeap:
		logger.Info("Chunks are held in the Go heap (--storage.memory.dir=heap)")
		return "", nil
	case MemoryDirAuto:
		for _, d := range autoMemoryDirs {
			free, ram, err := ramFree(d)
			switch {
			case err != nil || !ram:
			case free < minMemoryDirFree:
				logger.Warn("RAM-backed directory too small, chunks stay in the Go heap (name a larger tmpfs with --storage.memory.dir)",
					"dir", d, "freeBytes", free, "neededBytes", minMemoryDirFree)
			default:
				return d, nil
			}
		}
		logger.Warn("No RAM-backed directory with room: full chunks stay in the Go heap, which costs more memory (name a tmpfs with --storage.memory.dir)",
			"tried", autoMemoryDirs)
		return "", nil
	}
	free, ram, err := ramFree(dir)
	if err != nil {
		return "", fmt.Errorf("--storage.memory.dir=%s: %w", dir, err)
	}
	if !ram {
		return "", fmt.Errorf("--storage.memory.dir=%s: %w; use --storage.tsdb.path for on-disk storage", dir, errNotRAMBacked)
	}
	if free < minMemoryDirFree {
		logger.Warn("RAM-backed directory has little room; size-based retention keeps within it", "dir", dir, "freeBytes", free)
	}
	return dir, nil
}

// privateDir is a directory only this process uses, removed by close. A
// flock on its lock file tells other miniprom processes that the owner is
// alive: the kernel drops the lock when the process dies, even by SIGKILL
// or the OOM killer, so a later start can find and remove what it left.
type privateDir struct {
	path string
	lock fileutil.Releaser
}

const (
	privateDirPattern = "miniprom-*"
	lockFileName      = "miniprom.lock"
	ownerFileName     = "miniprom.pid"
)

// newPrivateDir removes directories in parent left by dead miniprom
// processes, then makes and locks a new one.
func newPrivateDir(logger *slog.Logger, parent string) (*privateDir, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	removeStaleDirs(logger, parent)
	path, err := os.MkdirTemp(parent, privateDirPattern)
	if err != nil {
		return nil, fmt.Errorf("create private storage dir: %w", err)
	}
	lock, _, err := fileutil.Flock(filepath.Join(path, lockFileName))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("lock private storage dir: %w", err), os.RemoveAll(path))
	}
	// The pid is for people looking at the directory; the lock decides.
	_ = os.WriteFile(filepath.Join(path, ownerFileName), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	return &privateDir{path: path, lock: lock}, nil
}

// removeStaleDirs removes the private directories in parent whose lock no
// process holds. A directory without a lock file is left alone: it may be
// another process's, a moment before it takes its lock.
func removeStaleDirs(logger *slog.Logger, parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, privateDirPattern))
	for _, d := range dirs {
		lockPath := filepath.Join(d, lockFileName)
		if _, err := os.Stat(lockPath); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		lock, _, err := fileutil.Flock(lockPath)
		if err != nil {
			continue // held: its owner is alive.
		}
		_ = lock.Release()
		if err := os.RemoveAll(d); err != nil {
			logger.Warn("Could not remove storage left by a dead miniprom", "dir", d, "err", err)
			continue
		}
		logger.Info("Removed storage left by a miniprom that did not exit cleanly", "dir", d)
	}
}

func (d *privateDir) close() error {
	return errors.Join(os.RemoveAll(d.path), d.lock.Release())
}
