package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/units"
	"github.com/stretchr/testify/require"
)

// deployDir is the repository's deploy/ directory, seen from this package.
var deployDir = filepath.Join("..", "..", "deploy")

// flagValues splits --name=value arguments into a map, failing on any
// argument of another shape (a deployment file's argument list should be
// unambiguous to read) and on a flag given twice.
func flagValues(t *testing.T, args []string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, a := range args {
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		require.True(t, strings.HasPrefix(a, "--"), "argument %q is not a --flag", a)
		if !ok {
			value = "true" // a boolean flag
		}
		_, dup := m[name]
		require.False(t, dup, "flag --%s given twice", name)
		m[name] = value
	}
	return m
}

// parsesAsMiniprom checks args with miniprom's own flag parser: run stops
// after parsing when --version is added, so nothing is started, but every
// flag name and value is checked as at a real start.
func parsesAsMiniprom(t *testing.T, args []string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append(append([]string{}, args...), "--version"), &stdout, &stderr)
	require.Equal(t, 0, code, "miniprom refuses the arguments %q:\n%s", args, stderr.String())
	require.Contains(t, stdout.String(), "miniprom, version")
}

// bytesFlag parses a size as miniprom's flags do (units.Base2Bytes: 1GB is
// 1 GiB).
func bytesFlag(t *testing.T, s string) int64 {
	t.Helper()
	b, err := units.ParseBase2Bytes(s)
	require.NoError(t, err, "size %q", s)
	return int64(b)
}

// maxRetentionShare is how much of a RAM directory's room the retention
// size may take: the rest is for the block a compaction writes before the
// head's chunks it replaces are dropped. miniprom's own default is 80%.
const maxRetentionShare = 0.8

// snapshotTime is how long a deployment should allow for writing a
// snapshot of retention bytes at shutdown: a 154 MB snapshot took 5.3 s on
// a busy 2-core machine (README, bench/snapshot.sh), about 30 MB/s, and a
// snapshot is at most the retention size; twice that, for safety.
func snapshotTime(retention int64) time.Duration {
	return 2 * time.Duration(retention/(30<<20)) * time.Second
}

// copyFile copies src to dst, making dst's directory.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	in, err := os.Open(src)
	require.NoError(t, err)
	defer in.Close()
	out, err := os.Create(dst)
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, err)
	require.NoError(t, out.Close())
}
