// Package storagetest helps tests give in-memory storage a place of its
// own on the RAM-backed filesystem, and measure what a cache holds.
package storagetest

import (
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// MemoryDir is a fresh directory on /dev/shm, where in-memory storage keeps
// its chunks and blocks, removed after the test; the test is skipped where
// there is no /dev/shm.
func MemoryDir(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/dev/shm"); err != nil {
		t.Skip("no /dev/shm")
	}
	d, err := os.MkdirTemp("/dev/shm", "miniprom-test-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// HeapHeld is the heap's live bytes after a collection. It collects twice:
// the first collection only moves sync.Pools' contents (the engine's
// buffers) aside, the second frees them.
func HeapHeld() int64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}
