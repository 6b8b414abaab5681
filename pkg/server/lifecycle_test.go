package server_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/server"
	"github.com/miniprom/miniprom/pkg/storage/storagetest"
)

// TestCloseWithoutRun: a Server created but never run releases its
// listeners and temporary directory on Close, and Close can be called again.
func TestCloseWithoutRun(t *testing.T) {
	tmp := storagetest.MemoryDir(t)
	ts := newServer(t, serverConfig{options: func(o *server.Options) { o.MemoryDir = tmp }})
	addr := ts.Addr().String()
	entries, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.NotEmpty(t, entries, "the storage's private dir exists once New returns")

	require.NoError(t, ts.Close())
	require.NoError(t, ts.Close(), "a second Close")
	entries, err = os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, entries, "temporary directory removed")
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err, "the listener was released")
	l.Close()
}

// TestReloadDuringShutdown: once Run stops taking reloads, Reload answers at
// once with an error instead of waiting for its context.
func TestReloadDuringShutdown(t *testing.T) {
	ts := startServer(t, serverConfig{})
	require.NoError(t, ts.stop())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := ts.Reload(ctx)
	require.ErrorContains(t, err, "shutting down")
}

// TestEventuallySurvivesFailedChecks: a require failing inside a polled
// helper ends that poll, not the test; before, it called FailNow on the
// polling goroutine and the test hung for the whole timeout.
func TestEventuallySurvivesFailedChecks(t *testing.T) {
	ts := startServer(t, serverConfig{})
	var polls atomic.Int32
	ts.eventually(func() bool {
		n := polls.Add(1)
		code, _ := ts.get("/-/healthy")
		require.Equal(ts.t, http.StatusOK, code)
		require.Greater(ts.t, n, int32(2), "fails the first two polls")
		return true
	}, "never passed")
	require.Equal(t, int32(3), polls.Load())
}
