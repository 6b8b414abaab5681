package storage_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/storage"
	"github.com/miniprom/miniprom/pkg/storage/storagetest"
)

// logBuffer collects log lines; the TSDB logs from its own goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// snapStore is one in-memory storage opened on a snapshot directory.
type snapStore struct {
	*storage.Storage
	reg  *prometheus.Registry
	logs *logBuffer
}

func openSnap(t *testing.T, dir string, o storage.Options) snapStore {
	t.Helper()
	o.MemoryDir = storagetest.MemoryDir(t)
	o.SnapshotDir = dir
	logs := &logBuffer{}
	reg := prometheus.NewRegistry()
	s, err := storage.Open(slog.New(slog.NewTextHandler(logs, nil)), reg, o)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return snapStore{s, reg, logs}
}

// appendHours appends series count of "snap_test" every 15s over hours
// from t0, random values so that chunks are not tiny, and compacts what
// can be compacted into blocks.
func appendHours(t *testing.T, s *storage.Storage, t0 time.Time, hours, series int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	for m := 0; m < hours*60; m += 10 {
		app := s.Appender(context.Background())
		for i := range series {
			l := labels.FromStrings("__name__", "snap_test", "i", fmt.Sprint(i))
			for ts := t0.Add(time.Duration(m) * time.Minute); ts.Before(t0.Add(time.Duration(m+10) * time.Minute)); ts = ts.Add(15 * time.Second) {
				_, err := app.Append(0, l, ts.UnixMilli(), r.Float64())
				require.NoError(t, err)
			}
		}
		require.NoError(t, app.Commit())
	}
	require.NoError(t, s.Compact(context.Background()))
}

// dump is every sample of snap_test, as text.
func dump(t *testing.T, s *storage.Storage) string {
	t.Helper()
	q, err := s.Querier(0, 1<<62)
	require.NoError(t, err)
	defer q.Close()
	set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "snap_test"))
	var b strings.Builder
	for set.Next() {
		fmt.Fprintln(&b, set.At().Labels())
		it := set.At().Iterator(nil)
		for it.Next() != 0 {
			ts, v := it.At()
			fmt.Fprintln(&b, ts, v)
		}
		require.NoError(t, it.Err())
	}
	require.NoError(t, set.Err())
	return b.String()
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestSnapshotRoundTrip: blocks and head written at the end are what the
// next start holds, sample for sample, and the self-metrics say so.
func TestSnapshotRoundTrip(t *testing.T) {
	dir := t.TempDir()
	a := openSnap(t, dir, storage.Options{})
	appendHours(t, a.Storage, t0, 5, 20, 1)
	metas, _ := a.BlockMetas()
	require.NotEmpty(t, metas, "some data is in blocks")
	require.Greater(t, a.Head().NumSeries(), uint64(0), "some data is in the head")
	want := dump(t, a.Storage)
	require.NoError(t, a.FinalSnapshot())
	require.NoError(t, a.Close())
	require.Equal(t, 1.0, metric(t, a.reg, "miniprom_snapshot_last_success"))
	require.Positive(t, metric(t, a.reg, "miniprom_snapshot_last_size_bytes"))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Equal(t, []string{"current"}, names(entries), "only the complete snapshot is left")

	b := openSnap(t, dir, storage.Options{})
	require.Equal(t, want, dump(t, b.Storage))
	require.Contains(t, b.logs.String(), "Snapshot loaded")
}

// metric is the value of a gauge or counter without labels in reg.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			return m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func names(entries []os.DirEntry) []string {
	var n []string
	for _, e := range entries {
		n = append(n, e.Name())
	}
	return n
}

// snapshotOf writes a snapshot of hours of data into dir and returns the
// samples it holds.
func snapshotOf(t *testing.T, dir string, hours int, seed uint64) string {
	t.Helper()
	s := openSnap(t, dir, storage.Options{})
	appendHours(t, s.Storage, t0, hours, 5, seed)
	want := dump(t, s.Storage)
	require.NoError(t, s.FinalSnapshot())
	require.NoError(t, s.Close())
	return want
}

// TestSnapshotStartStates: whatever a kill -9 at any step of a write
// leaves, the start finds the newest complete snapshot, and moves a
// partial write aside instead of deleting it.
func TestSnapshotStartStates(t *testing.T) {
	for _, tc := range []struct {
		name string
		// arrange turns a directory with old/ and new/ (two complete
		// snapshots) into what a write cut short leaves.
		arrange func(dir string) error
		want    string // "old" or "new"
		aside   bool
	}{
		{"killed while writing", func(dir string) error {
			return errors(os.Rename(filepath.Join(dir, "old"), filepath.Join(dir, "current")),
				os.Rename(filepath.Join(dir, "new"), filepath.Join(dir, ".tmp-123")),
				truncateAny(filepath.Join(dir, ".tmp-123")))
		}, "old", true},
		{"killed after current became previous", func(dir string) error {
			return errors(os.Rename(filepath.Join(dir, "old"), filepath.Join(dir, "previous")),
				os.Rename(filepath.Join(dir, "new"), filepath.Join(dir, ".tmp-123")))
		}, "old", true},
		{"killed before previous was removed", func(dir string) error {
			return errors(os.Rename(filepath.Join(dir, "old"), filepath.Join(dir, "previous")),
				os.Rename(filepath.Join(dir, "new"), filepath.Join(dir, "current")))
		}, "new", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			want := map[string]string{}
			for i, name := range []string{"old", "new"} {
				d := t.TempDir()
				want[name] = snapshotOf(t, d, 3+i, uint64(i))
				require.NoError(t, os.Rename(filepath.Join(d, "current"), filepath.Join(dir, name)))
			}
			require.NoError(t, tc.arrange(dir))

			s := openSnap(t, dir, storage.Options{})
			require.Equal(t, want[tc.want], dump(t, s.Storage))
			aside, _ := os.ReadDir(filepath.Join(dir, "aside"))
			require.Equal(t, tc.aside, len(aside) == 1, "moved aside: %v", names(aside))
			if tc.aside {
				require.Contains(t, s.logs.String(), "level=WARN msg=\"A snapshot write that never completed")
			}
			// The next write leaves the usual state, and what was moved aside.
			require.NoError(t, s.FinalSnapshot())
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			wantEntries := []string{"current"}
			if tc.aside {
				wantEntries = []string{"aside", "current"}
			}
			require.Equal(t, wantEntries, names(entries))
		})
	}
}

func errors(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// truncateAny halves the first chunks file under dir.
func truncateAny(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*", "chunks", "000001"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no chunks file in %s: %v", dir, err)
	}
	fi, err := os.Stat(files[0])
	if err != nil {
		return err
	}
	return os.Truncate(files[0], fi.Size()/2)
}

// TestSnapshotBadBlocks: a block that is truncated, damaged or of another
// version is logged as an error naming it, moved aside, and the others
// are loaded.
func TestSnapshotBadBlocks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(block string) error
		want  string
	}{
		{"truncated chunks", func(b string) error { return truncateHalf(filepath.Join(b, "chunks", "000001")) }, "chunks"},
		{"truncated index", func(b string) error { return truncateHalf(filepath.Join(b, "index")) }, ""},
		{"flipped chunk byte", func(b string) error {
			p := filepath.Join(b, "chunks", "000001")
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			data[len(data)/2] ^= 0xff
			return os.WriteFile(p, data, 0o644)
		}, "chunks"},
		{"newer meta version", func(b string) error {
			p := filepath.Join(b, "meta.json")
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, bytes.Replace(data, []byte(`"version": 1`), []byte(`"version": 2`), 1), 0o644)
		}, "meta.json version 2"},
		{"no meta", func(b string) error { return os.Remove(filepath.Join(b, "meta.json")) }, "meta.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			snapshotOf(t, dir, 5, 1)
			blocks, err := filepath.Glob(filepath.Join(dir, "current", "*"))
			require.NoError(t, err)
			require.GreaterOrEqual(t, len(blocks), 2)
			slices.Sort(blocks)
			bad := blocks[0]
			require.NoError(t, tc.spoil(bad))

			s := openSnap(t, dir, storage.Options{})
			logs := s.logs.String()
			require.Contains(t, logs, "level=ERROR")
			require.Contains(t, logs, bad)
			require.Contains(t, logs, tc.want)
			aside, err := os.ReadDir(filepath.Join(dir, "aside"))
			require.NoError(t, err)
			require.Len(t, aside, 1)
			require.Contains(t, aside[0].Name(), "corrupt-"+filepath.Base(bad))
			metas, _ := s.BlockMetas()
			require.Len(t, metas, len(blocks)-1, "the other blocks are loaded")
			require.NotEmpty(t, dump(t, s.Storage))
		})
	}
}

func truncateHalf(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	return os.Truncate(p, fi.Size()/2)
}

// TestSnapshotLargerThanRoom: only the newest blocks that fit in the
// retention size are loaded; the others are left on disk, aside, and
// logged.
func TestSnapshotLargerThanRoom(t *testing.T) {
	dir := t.TempDir()
	snapshotOf(t, dir, 9, 1)
	blocks, err := filepath.Glob(filepath.Join(dir, "current", "*"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(blocks), 3)
	slices.Sort(blocks) // ULIDs sort by creation: the head's block is last
	newest := blocks[len(blocks)-1]
	size := dirSize(t, newest)

	s := openSnap(t, dir, storage.Options{RetentionSize: size + size/2})
	metas, _ := s.BlockMetas()
	require.Len(t, metas, 1)
	require.Equal(t, filepath.Base(newest), metas[0].ULID.String())
	require.Contains(t, s.logs.String(), "level=WARN msg=\"Snapshot is larger than the room in memory")
	aside, err := os.ReadDir(filepath.Join(dir, "aside"))
	require.NoError(t, err)
	require.Len(t, aside, len(blocks)-1)
	for _, e := range aside {
		require.Contains(t, e.Name(), "-unloaded-")
		require.Contains(t, s.logs.String(), e.Name())
	}
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return err
	}))
	return n
}

// TestSnapshotPeriodic: with an interval, snapshots are written while the
// storage runs.
func TestSnapshotPeriodic(t *testing.T) {
	dir := t.TempDir()
	s := openSnap(t, dir, storage.Options{SnapshotInterval: 10 * time.Millisecond})
	appendHours(t, s.Storage, t0, 1, 3, 1)
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(dir, "current"))
		return err == nil
	}, 30*time.Second, 10*time.Millisecond)
	require.NoError(t, s.Close())
	require.Equal(t, 1.0, metric(t, s.reg, "miniprom_snapshot_last_success"))
}

// TestSnapshotRefused: a snapshot directory with on-disk storage or with
// chunks in the heap is refused at Open.
func TestSnapshotRefused(t *testing.T) {
	_, err := storage.Open(slog.New(slog.DiscardHandler), nil, storage.Options{Path: t.TempDir(), SnapshotDir: t.TempDir()})
	require.ErrorContains(t, err, "--storage.tsdb.path")
	_, err = storage.Open(slog.New(slog.DiscardHandler), nil, storage.Options{MemoryDir: storage.MemoryDirHeap, TempDir: t.TempDir(), SnapshotDir: t.TempDir()})
	require.ErrorContains(t, err, "Go heap")
}

// TestSnapshotOutOfOrder: samples in the out-of-order window, which
// upstream's snapshot of the head leaves out, are kept too.
func TestSnapshotOutOfOrder(t *testing.T) {
	dir := t.TempDir()
	a := openSnap(t, dir, storage.Options{})
	require.NoError(t, a.ApplyConfig(tsdbConfig(24*time.Hour, 0, 2*time.Hour, false)))
	appendHours(t, a.Storage, t0, 1, 3, 1)
	app := a.Appender(context.Background())
	for i := range 3 {
		l := labels.FromStrings("__name__", "snap_test", "i", fmt.Sprint(i))
		_, err := app.Append(0, l, t0.Add(-time.Hour+7*time.Second).UnixMilli(), 42)
		require.NoError(t, err)
	}
	require.NoError(t, app.Commit())
	want := dump(t, a.Storage)
	require.Contains(t, want, " 42\n")
	require.NoError(t, a.FinalSnapshot())
	require.NoError(t, a.Close())

	b := openSnap(t, dir, storage.Options{})
	require.Equal(t, want, dump(t, b.Storage))
}
