package storage

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/fileutil"
	"github.com/prometheus/prometheus/tsdb/index"
)

// snapshotBlock is a block directory of the snapshot being loaded.
type snapshotBlock struct {
	path string
	meta tsdb.BlockMeta
	size int64
}

// loadSnapshot copies the snapshot in dir into the TSDB directory into,
// before the TSDB opens there, newest block first while they fit in room
// bytes. Each copied block is checked by reading all its series and
// chunks. Whatever is not loaded (a partial write, a corrupt or
// incompatible block, a block that does not fit) is logged and moved into
// dir's aside/ directory, where no later snapshot removes it.
func loadSnapshot(logger *slog.Logger, dir, into string, room int64) error {
	start := time.Now()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if _, ram, err := ramFree(dir); err == nil && ram {
		logger.Warn("The snapshot directory is on a RAM-backed filesystem: its snapshots do not survive a reboot", "dir", dir)
	}
	// Fail at start, not at the first snapshot, when dir is not writable.
	probe, err := os.MkdirTemp(dir, ".probe-*")
	if err != nil {
		return err
	}
	if err := os.Remove(probe); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), snapshotTmp) {
			aside(logger, slog.LevelWarn, dir, filepath.Join(dir, e.Name()), "partial", "A snapshot write that never completed (the process was killed or the disk was full) is moved aside")
		}
	}
	cur, prev := filepath.Join(dir, snapshotCurrent), filepath.Join(dir, snapshotPrevious)
	switch {
	case exists(cur):
	case exists(prev):
		// A swap was cut short after current became previous.
		logger.Warn("Starting from the previous snapshot: the newest was never completed", "dir", prev)
		if err := os.Rename(prev, cur); err != nil {
			return err
		}
		if err := syncDir(dir); err != nil {
			return err
		}
	default:
		logger.Info("No snapshot to load yet", "dir", dir)
		return nil
	}
	blocks, err := readSnapshotBlocks(logger, dir, cur)
	if err != nil {
		return err
	}
	// Newest first: when they do not all fit, the newest are loaded.
	slices.SortFunc(blocks, func(a, b snapshotBlock) int { return cmp.Compare(b.meta.MaxTime, a.meta.MaxTime) })
	var used int64
	var loaded, left []string
	full := false
	for _, b := range blocks {
		if full || used+b.size > room {
			full = true
			left = append(left, aside(logger, 0, dir, b.path, "unloaded", ""))
			continue
		}
		if err := loadBlock(b, into); err != nil {
			if errors.Is(err, errNoRoom) {
				full = true
				left = append(left, aside(logger, 0, dir, b.path, "unloaded", ""))
				continue
			}
			aside(logger, slog.LevelError, dir, b.path, "corrupt", "Snapshot block is corrupt or incompatible, moved aside: "+err.Error())
			continue
		}
		used += b.size
		loaded = append(loaded, b.meta.ULID.String())
	}
	if len(left) > 0 {
		logger.Warn("Snapshot is larger than the room in memory: the newest blocks were loaded, these were left on disk",
			"room", room, "loadedBytes", used, "leftOnDisk", strings.Join(left, ","))
	}
	logger.Info("Snapshot loaded", "dir", cur, "blocks", len(loaded), "bytes", used, "duration", time.Since(start))
	return nil
}

// errNoRoom is a copy that failed for want of room in memory.
var errNoRoom = errors.New("no room in the RAM-backed directory")

// readSnapshotBlocks lists the block directories of the snapshot cur and
// moves aside whatever is not one of a version this TSDB reads.
func readSnapshotBlocks(logger *slog.Logger, dir, cur string) ([]snapshotBlock, error) {
	entries, err := os.ReadDir(cur)
	if err != nil {
		return nil, err
	}
	var blocks []snapshotBlock
	for _, e := range entries {
		path := filepath.Join(cur, e.Name())
		meta, err := readBlockMeta(path)
		if err == nil && meta.ULID.String() != e.Name() {
			err = fmt.Errorf("meta.json names block %s", meta.ULID)
		}
		if err != nil {
			aside(logger, slog.LevelError, dir, path, "corrupt", "Not a snapshot block of a version this TSDB reads, moved aside: "+err.Error())
			continue
		}
		size, err := fileutil.DirSize(path)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, snapshotBlock{path: path, meta: meta, size: size})
	}
	return blocks, nil
}

func readBlockMeta(dir string) (tsdb.BlockMeta, error) {
	var m tsdb.BlockMeta
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("meta.json: %w", err)
	}
	if m.Version != 1 {
		return m, fmt.Errorf("meta.json version %d, want 1", m.Version)
	}
	return m, nil
}

// loadBlock copies the block into the TSDB directory under a name the
// TSDB ignores, checks the copy and renames it to its ULID.
func loadBlock(b snapshotBlock, into string) error {
	name := b.meta.ULID.String()
	tmp := filepath.Join(into, name+".tmp-for-creation")
	if _, err := copyTree(b.path, tmp); err != nil {
		_ = os.RemoveAll(tmp)
		if errors.Is(err, syscall.ENOSPC) {
			return errNoRoom
		}
		return err
	}
	if err := checkBlock(tmp); err != nil {
		return errors.Join(err, os.RemoveAll(tmp))
	}
	return os.Rename(tmp, filepath.Join(into, name))
}

// checkBlock opens the block with upstream's reader and reads every
// series and every chunk (each chunk's CRC is checked): a truncated or
// damaged index or chunk file fails here rather than in a query.
func checkBlock(dir string) (err error) {
	b, err := tsdb.OpenBlock(nil, dir, nil, nil)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, b.Close()) }()
	ir, err := b.Index()
	if err != nil {
		return err
	}
	defer ir.Close()
	cr, err := b.Chunks()
	if err != nil {
		return err
	}
	defer cr.Close()
	k, v := index.AllPostingsKey()
	p, err := ir.Postings(context.Background(), k, v)
	if err != nil {
		return err
	}
	var (
		builder labels.ScratchBuilder
		metas   []chunks.Meta
		n       uint64
	)
	for p.Next() {
		if err := ir.Series(p.At(), &builder, &metas); err != nil {
			return fmt.Errorf("index: series %d: %w", p.At(), err)
		}
		for _, m := range metas {
			if _, _, err := cr.ChunkOrIterable(m); err != nil {
				return fmt.Errorf("chunks: %w", err)
			}
		}
		n++
	}
	if err := p.Err(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if n != b.Meta().Stats.NumSeries {
		return fmt.Errorf("index has %d series, meta.json says %d", n, b.Meta().Stats.NumSeries)
	}
	return nil
}

// aside moves path aside and logs msg, unless empty, at level; it returns
// where path went.
func aside(logger *slog.Logger, level slog.Level, dir, path, why, msg string) string {
	to, err := moveAside(dir, path, why)
	if err != nil {
		logger.Error("Could not move a snapshot entry aside; it stays where it is", "path", path, "err", err)
		return path
	}
	if msg != "" {
		logger.Log(context.Background(), level, msg, "path", path, "movedTo", to)
	}
	return to
}
