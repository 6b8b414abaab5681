package server_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// peer is a real third-party server (Alertmanager, VictoriaMetrics,
// Prometheus) run by a test on loopback and killed at cleanup.
type peer struct {
	t    testing.TB
	name string
	cmd  *exec.Cmd
	argv []string
	out  *syncBuffer
	done chan struct{}
}

// syncBuffer collects a peer's output for the failure message.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// peerBinary returns the path of a Debian-packaged peer, or skips the test
// naming the package to install (.ci/run installs them all).
func peerBinary(t testing.TB, path, debianPackage string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not found: apt-get install %s", path, debianPackage)
	}
	return path
}

// startPeer runs bin with args and waits until ready returns true. The peer's
// output is logged if the test fails.
func startPeer(t testing.TB, name, bin string, args []string, ready func() bool) *peer {
	t.Helper()
	p := &peer{t: t, name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.launch(bin, args)
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
		}
	})
	exited := func() bool {
		select {
		case <-p.done:
			return true
		default:
			return false
		}
	}
	// No t.Fatal in the polled function: it would hang the test.
	require.Eventually(t, func() bool { return exited() || ready() }, 30*time.Second, 50*time.Millisecond, "%s never became ready", name)
	require.False(t, exited(), "%s exited before it was ready:\n%s", name, p.out.String())
	return p
}

func (p *peer) launch(bin string, args []string) {
	p.argv = append([]string{bin}, args...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.done = make(chan struct{})
	require.NoError(p.t, p.cmd.Start())
	done := p.done
	go func() { _ = p.cmd.Wait(); close(done) }()
}

// stop kills the peer and waits for it to exit.
func (p *peer) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	p.cmd = nil
}

// restart starts the peer again with the same command line.
func (p *peer) restart(ready func() bool) {
	argv := p.argv
	p.launch(argv[0], argv[1:])
	require.Eventually(p.t, ready, 30*time.Second, 50*time.Millisecond, "%s never became ready again", p.name)
}

// httpOK reports whether GET url answers 200 with client.
func httpOK(client *http.Client, url string) func() bool {
	return func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
}

// startDebianPrometheus runs Debian's Prometheus with prometheus.yml from
// dir and its TSDB in dir/data, and returns its plain-HTTP address once it
// is ready.
func startDebianPrometheus(t testing.TB, dir string, extraArgs ...string) string {
	t.Helper()
	bin := peerBinary(t, "/usr/bin/prometheus", "prometheus")
	addr := "127.0.0.1:" + freePort(t)
	plain := &http.Client{Timeout: 10 * time.Second}
	startPeer(t, "prometheus", bin, append([]string{
		"--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--log.level=warn",
	}, extraArgs...), httpOK(plain, "http://"+addr+"/-/ready"))
	return addr
}
