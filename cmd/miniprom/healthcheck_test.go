package main

import (
	"bytes"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/devcert"
	"github.com/miniprom/miniprom/pkg/storage/storagetest"
)

// startArgs starts the binary with exactly these arguments and returns
// its log and the address it listens on (the args must listen on
// 127.0.0.1:0). The process is killed at the end of the test.
func startArgs(t *testing.T, args ...string) (*logWatcher, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, err := binary()
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	logs := &logWatcher{}
	go logs.follow(pr)
	go func() { cmd.Wait(); pw.Close(); close(done) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	var addr string
	listening := regexp.MustCompile(`msg="Listening on".* address=(127\.0\.0\.1:\d+)`)
	exited := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	require.Eventually(t, func() bool {
		if m := logs.find(listening); m != nil {
			addr = m[1]
			return true
		}
		return exited()
	}, 30*time.Second, 20*time.Millisecond, "never listened")
	require.False(t, exited(), "exited at start:\n%s", logs.all())
	return logs, addr
}

// TestHealthcheck: `miniprom healthcheck` succeeds against a real miniprom
// serving TLS once it trusts the CA, and fails (exit 1, never Docker's
// reserved 2) on an untrusted certificate, a wrong path, a refused
// connection and a bad flag. The last case runs the binary, as a container
// health check does.
func TestHealthcheck(t *testing.T) {
	dir := t.TempDir()
	_, err := devcert.WriteDevSet(dir, []string{"localhost", "127.0.0.1"})
	require.NoError(t, err)
	other := t.TempDir()
	_, err = devcert.WriteDevSet(other, []string{"localhost"})
	require.NoError(t, err)
	cfg := write(t, dir, "prometheus.yml", "global:\n  scrape_interval: 1s\n")
	web := write(t, dir, "web.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")
	_, addr := startArgs(t, "--config.file="+cfg, "--web.config.file="+web,
		"--web.listen-address=127.0.0.1:0", "--storage.memory.dir="+storagetest.MemoryDir(t))
	ca := "--ca-file=" + filepath.Join(dir, "ca.crt")

	check := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := healthcheck(args, &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	require.Eventually(t, func() bool {
		code, _ := check("--url=https://"+addr+"/-/healthy", ca)
		return code == 0
	}, 30*time.Second, 20*time.Millisecond, "never healthy")

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"untrusted CA", []string{"--url=https://" + addr + "/-/healthy", "--ca-file=" + filepath.Join(other, "ca.crt")}, "certificate signed by unknown authority"},
		{"system CAs only", []string{"--url=https://" + addr + "/-/healthy"}, "certificate"},
		{"not found", []string{"--url=https://" + addr + "/-/nothing", ca}, "404"},
		{"plain HTTP to TLS", []string{"--url=http://" + addr + "/-/healthy"}, "400"},
		{"nothing listening", []string{"--url=https://127.0.0.1:1/-/healthy", ca}, "connection refused"},
		{"missing CA file", []string{"--url=https://" + addr + "/-/healthy", "--ca-file=" + filepath.Join(dir, "nope.crt")}, "nope.crt"},
		{"unknown flag", []string{"--insecure"}, "unknown long flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := check(tc.args...)
			require.Equal(t, 1, code, out)
			require.Contains(t, out, tc.want)
		})
	}

	t.Run("binary", func(t *testing.T) {
		bin, err := binary()
		require.NoError(t, err)
		out, err := exec.Command(bin, "healthcheck", "--url=https://localhost:"+portOf(t, addr)+"/-/healthy", ca).CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "Healthy")
		out, err = exec.Command(bin, "healthcheck", "--url=https://localhost:"+portOf(t, addr)+"/-/ready", "--ca-file="+filepath.Join(other, "ca.crt")).CombinedOutput()
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "%s", out)
		require.Equal(t, 1, exit.ExitCode())
	})
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	m := regexp.MustCompile(`:(\d+)$`).FindStringSubmatch(addr)
	require.NotNil(t, m, addr)
	return m[1]
}
