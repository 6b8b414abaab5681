package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/devcert"
	"github.com/miniprom/miniprom/pkg/storage/storagetest"
)

// logWatcher collects a process's stderr and lets the test wait for lines.
type logWatcher struct {
	mu    sync.Mutex
	lines []string
}

func (w *logWatcher) follow(r io.Reader) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		w.mu.Lock()
		w.lines = append(w.lines, s.Text())
		w.mu.Unlock()
	}
}

func (w *logWatcher) find(re *regexp.Regexp) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, l := range w.lines {
		if m := re.FindStringSubmatch(l); m != nil {
			return m
		}
	}
	return nil
}

func (w *logWatcher) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n")
}

func (w *logWatcher) count(substr string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, l := range w.lines {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// TestProcessSignals runs the real binary: SIGHUP reloads (a bad config is
// refused and the old one kept), SIGTERM shuts down with exit 0 and leaves
// no temporary state behind.
func TestProcessSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin, err := binary()
	require.NoError(t, err)

	_, err = devcert.WriteDevSet(dir, []string{"127.0.0.1"})
	require.NoError(t, err)
	cfg := write(t, dir, "prometheus.yml", "global:\n  scrape_interval: 1s\n")
	web := write(t, dir, "web.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
	tmp := storagetest.MemoryDir(t)

	cmd := exec.Command(bin, "--config.file="+cfg, "--web.config.file="+web, "--web.listen-address=127.0.0.1:0", "--storage.memory.dir="+tmp)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })
	logs := &logWatcher{}
	go logs.follow(stderr)

	var addr string
	listening := regexp.MustCompile(`msg="Listening on".* address=(127\.0\.0\.1:\d+)`)
	require.Eventually(t, func() bool {
		if m := logs.find(listening); m != nil {
			addr = m[1]
			return true
		}
		return false
	}, 20*time.Second, 20*time.Millisecond, "never listened")

	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	require.Eventually(t, func() bool {
		resp, err := client.Get("https://" + addr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 20*time.Millisecond)
	entries, _ := os.ReadDir(tmp)
	require.NotEmpty(t, entries, "private temp state while running")

	// A bad config on SIGHUP is refused; the server keeps serving.
	write(t, dir, "prometheus.yml", "global: [\n")
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return logs.count("Error reloading config") == 1 }, 20*time.Second, 20*time.Millisecond)
	resp, err := client.Get("https://" + addr + "/api/v1/status/runtimeinfo")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(body), `"reloadConfigSuccess":false`)

	// A good one is applied.
	write(t, dir, "prometheus.yml", "global:\n  scrape_interval: 2s\n")
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return logs.count("Completed loading of configuration file") == 1 }, 20*time.Second, 20*time.Millisecond)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait(), "exit code 0 after SIGTERM")
	entries, err = os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, entries, "temp state removed after SIGTERM")
}
