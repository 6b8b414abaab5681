package server

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestReturnFreeHeap checks that heap pages freed by a burst go back to the
// system: Go's scavenger alone keeps them while the heap goal allows.
func TestReturnFreeHeap(t *testing.T) {
	free := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	burst := make([][]byte, 64)
	for i := range burst {
		burst[i] = make([]byte, 1<<20)
	}
	runtime.KeepAlive(burst)
	burst = nil
	runtime.GC()

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); returnFreeHeap(stop, 10*time.Millisecond, 4<<20) }()
	defer func() { close(stop); <-done }()
	require.Eventually(t, func() bool { return free() <= 4<<20 }, 10*time.Second, 10*time.Millisecond,
		"free heap pages not returned: %d bytes", free())
}
