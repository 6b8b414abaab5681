package main

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/storage/storagetest"
)

// A memory directory on a disk is refused at start: miniprom never writes
// samples to a disk unless told to with --storage.tsdb.path.
func TestMemoryDirOnDiskRefused(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{
		"--config.file=" + write(t, dir, "prometheus.yml", "scrape_configs: []\n"),
		"--web.listen-address=127.0.0.1:0",
		"--storage.memory.dir=" + dir,
	}, &stdout, &stderr)
	require.Equal(t, 1, code)
	require.Contains(t, stderr.String(), "--storage.memory.dir="+dir)
	require.Contains(t, stderr.String(), "not on a RAM-backed filesystem")
	require.NotContains(t, stderr.String(), "Listening on")
}

// A process killed with SIGKILL cannot remove its directory on the
// RAM-backed filesystem, which would hold memory until reboot: the next
// start removes it.
func TestKilledProcessStorageRemovedAtNextStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin, err := binary()
	require.NoError(t, err)
	cfg := write(t, dir, "prometheus.yml", "global:\n  scrape_interval: 1s\n")
	shm := storagetest.MemoryDir(t)
	opened := regexp.MustCompile(`msg="TSDB opened".* dir=(\S+)`)

	start := func() (*exec.Cmd, *logWatcher, string) {
		cmd := exec.Command(bin, "--config.file="+cfg, "--web.listen-address=127.0.0.1:0", "--storage.memory.dir="+shm)
		stderr, err := cmd.StderrPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { cmd.Process.Kill() })
		logs := &logWatcher{}
		go logs.follow(stderr)
		var private string
		require.Eventually(t, func() bool {
			if m := logs.find(opened); m != nil {
				private = m[1]
				return logs.count("Server is ready") == 1
			}
			return false
		}, 20*time.Second, 20*time.Millisecond, "never ready")
		require.DirExists(t, private)
		return cmd, logs, private
	}

	first, _, firstDir := start()
	require.NoError(t, first.Process.Signal(syscall.SIGKILL))
	require.Error(t, first.Wait())
	require.DirExists(t, firstDir, "SIGKILL leaves the directory behind")

	second, logs, secondDir := start()
	require.NoDirExists(t, firstDir, "the next start removes it")
	require.Equal(t, 1, logs.count("Removed storage left by a miniprom that did not exit cleanly"))
	require.DirExists(t, secondDir)

	require.NoError(t, second.Process.Signal(syscall.SIGTERM))
	require.NoError(t, second.Wait())
	left, err := os.ReadDir(shm)
	require.NoError(t, err)
	require.Empty(t, left)
}
