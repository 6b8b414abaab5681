package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/alecthomas/units"
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

// minMemoryDirRoom is the least free room a RAM-backed directory must have
// at start: MemoryDirAuto falls back to heap-held chunks below it, and an
// explicitly named directory below it is refused. A directory given a
// retention size must also have room for that size, or the filesystem
// would fill before retention drops anything. Docker's and Kubernetes's
// default /dev/shm (64 MB) is below it.
const minMemoryDirRoom = 256 << 20

// HeapCost is what heap-held chunks cost against RAM-backed files, measured
// with a day of 10,000 series (958 MB against 527 MB held, each with its
// Go heap): the log and the storage mode say it wherever chunks stay in the
// heap.
const HeapCost = "about 1.8x the memory of RAM-backed files"

// errNotRAMBacked is returned for an explicit memory directory on a disk.
var errNotRAMBacked = errors.New("not on a RAM-backed filesystem (tmpfs or ramfs)")

// errTooSmall is returned for an explicit memory directory with less free
// room than it needs.
var errTooSmall = errors.New("too small")

// chooseMemoryDir resolves Options.MemoryDir to a RAM-backed directory, or
// "" for heap-held chunks. An explicit directory that is not RAM-backed,
// or has less room than minMemoryDirRoom or retentionSize, is an error
// that says how to mount one: miniprom never writes samples to a disk
// unasked, and never falls back to the heap from a directory it was given.
func chooseMemoryDir(logger *slog.Logger, dir string, retentionSize int64) (string, error) {
	switch dir {
	case MemoryDirHeap:
		logger.Info("Chunks are held in the Go heap (--storage.memory.dir=heap), "+HeapCost, "dir", dir)
		return "", nil
	case MemoryDirAuto:
		for _, d := range autoMemoryDirs {
			free, ram, err := ramFree(d)
			switch {
			case err != nil || !ram:
			case free < minMemoryDirRoom:
				logger.Warn("RAM-backed directory too small",
					"dir", d, "freeBytes", free, "neededBytes", minMemoryDirRoom)
			default:
				return d, nil
			}
		}
		logger.Warn("No RAM-backed directory with room: full chunks stay in the Go heap, "+HeapCost+"; name a tmpfs with --storage.memory.dir, or ask for the heap with --storage.memory.dir=heap",
			"tried", autoMemoryDirs)
		return "", nil
	}
	free, ram, err := ramFree(dir)
	switch {
	case err != nil:
		return "", fmt.Errorf("--storage.memory.dir=%s: %w; %s", dir, err, mountAdvice(dir))
	case !ram:
		return "", fmt.Errorf("--storage.memory.dir=%s is %w: %s", dir, errNotRAMBacked, mountAdvice(dir))
	}
	// What a killed miniprom left there is room once removed.
	removeStaleDirs(logger, dir)
	if free, _, err = ramFree(dir); err != nil {
		return "", fmt.Errorf("--storage.memory.dir=%s: %w", dir, err)
	}
	need, why := uint64(minMemoryDirRoom), "the minimum"
	if retentionSize > 0 && uint64(retentionSize) > need {
		need, why = uint64(retentionSize), "--storage.tsdb.retention.size"
	}
	if free < need {
		return "", fmt.Errorf("--storage.memory.dir=%s is %w: %s free, %s is %s: %s", dir, errTooSmall,
			units.Base2Bytes(free), why, units.Base2Bytes(need), mountAdvice(dir))
	}
	return dir, nil
}

// mountAdvice says how to give miniprom a RAM-backed directory where it
// usually runs.
func mountAdvice(dir string) string {
	return fmt.Sprintf("mount a tmpfs there (docker or podman run --tmpfs %[1]s:size=1g; "+
		"Kubernetes: an emptyDir volume with medium: Memory and a sizeLimit, mounted at %[1]s), "+
		"or name a larger /dev/shm (docker or podman run --shm-size=1g, and --storage.memory.dir=/dev/shm); "+
		"--storage.memory.dir=heap keeps chunks in the Go heap instead ("+HeapCost+"), "+
		"and --storage.tsdb.path stores samples on a disk", dir)
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
