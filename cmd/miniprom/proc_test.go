package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/storage/storagetest"
)

// binary builds the miniprom binary once per test run.
var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "miniprom-test-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "miniprom")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("go build: %w", err)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	code := m.Run()
	if bin, err := binary(); err == nil {
		os.RemoveAll(filepath.Dir(bin))
	}
	os.Exit(code)
}

// proc is a real miniprom process serving plain HTTP on a free port.
type proc struct {
	cmd  *exec.Cmd
	logs *logWatcher
	url  string
	tmp  string // its $TMPDIR and --storage.memory.dir, on /dev/shm
	done chan struct{}
	err  error // the exit error, once done is closed
}

// startRaw starts the binary with a minimal config and the extra flags,
// without waiting for it to be ready.
func startRaw(t *testing.T, flags ...string) *proc {
	t.Helper()
	bin, err := binary()
	require.NoError(t, err)
	cfg := write(t, t.TempDir(), "prometheus.yml", "global:\n  scrape_interval: 1s\n")
	p := &proc{logs: &logWatcher{}, tmp: storagetest.MemoryDir(t), done: make(chan struct{})}
	args := append([]string{"--config.file=" + cfg, "--web.listen-address=127.0.0.1:0", "--storage.memory.dir=" + p.tmp}, flags...)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), "TMPDIR="+p.tmp)
	// Through a pipe of our own, so Wait hands over every line before it returns.
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	require.NoError(t, p.cmd.Start())
	go p.logs.follow(pr)
	go func() { p.err = p.cmd.Wait(); pw.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// startProc starts the binary with a minimal config and the extra flags, and
// waits until it is ready.
func startProc(t *testing.T, flags ...string) *proc {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	p := startRaw(t, flags...)
	listening := regexp.MustCompile(`msg="Listening on".* address=(127\.0\.0\.1:\d+)`)
	require.Eventually(t, func() bool {
		if m := p.logs.find(listening); m != nil {
			p.url = "http://" + m[1]
			return true
		}
		return p.exited()
	}, 30*time.Second, 20*time.Millisecond, "never listened")
	require.False(t, p.exited(), "exited at start: %v\n%s", p.err, p.logs.all())
	require.Eventually(t, func() bool {
		code, _, err := fetch(http.MethodGet, p.url+"/-/ready", nil, nil)
		return err == nil && code == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "never ready")
	return p
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
