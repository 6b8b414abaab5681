package storage

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

// With no directory named and none RAM-backed with room, chunks stay in the
// Go heap, and a WARN says what that costs and how to avoid it.
func TestAutoMemoryDirFallbackWarns(t *testing.T) {
	saved := autoMemoryDirs
	t.Cleanup(func() { autoMemoryDirs = saved })
	autoMemoryDirs = []string{t.TempDir()} // on a disk, not RAM-backed

	var logs bytes.Buffer
	dir, err := chooseMemoryDir(slog.New(slog.NewTextHandler(&logs, nil)), MemoryDirAuto, 0)
	require.NoError(t, err)
	require.Empty(t, dir, "heap-held chunks")
	require.Contains(t, logs.String(), "level=WARN")
	require.Contains(t, logs.String(), HeapCost)
	require.Contains(t, logs.String(), "--storage.memory.dir")
}
