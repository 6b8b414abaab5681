package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBenchGivesUpWhenServerDies: bench/run.sh stops with an error naming
// the server when one dies at start, instead of polling it forever.
func TestBenchGivesUpWhenServerDies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the bench script")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("bench/run.sh needs wrk")
	}
	dir := t.TempDir()
	dead := write(t, dir, "dead.sh", "#!/bin/sh\necho 'bad flag' >&2\nexit 1\n")
	require.NoError(t, os.Chmod(dead, 0o755))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("..", "..", "bench", "run.sh"))
	cmd.Env = append(os.Environ(), "MINIPROM_BIN="+dead, "MINIPROM_REF_PROMETHEUS="+dead, "DURATION=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, ctx.Err(), "bench/run.sh still polling a dead server:\n%s", out)
	require.Error(t, err)
	require.Contains(t, string(out), "died at start")
	require.Contains(t, string(out), "bad flag")
}
