package server_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// shmDir is a fresh directory on /dev/shm, where in-memory storage keeps
// its chunks; each test server gets its own.
func shmDir(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/dev/shm"); err != nil {
		t.Skip("no /dev/shm")
	}
	d, err := os.MkdirTemp("/dev/shm", "miniprom-test-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
