//go:build linux

package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/miniprom/miniprom/pkg/devcert"
)

// The image's layout, as the Dockerfile makes it and the deployment files
// mount into it.
const (
	imageMemoryDir = "/miniprom/memory"
	imageTLSDir    = "/etc/miniprom/tls"
)

// imageConfig is the part of an image's configuration a container runtime
// reads to start it.
type imageConfig struct {
	User         string
	Env          []string
	Entrypoint   []string
	Cmd          []string
	WorkingDir   string
	ExposedPorts map[string]struct{}
}

// TestImage runs the container image's entrypoint with its default
// arguments from the image's exported root filesystem. `make test-image`
// builds the image and names it in MINIPROM_IMAGE, and the tool that built
// it in MINIPROM_IMAGE_TOOL. Containers cannot be started where the tests
// run, so the test does what a container runtime would: it mounts a tmpfs at
// the memory directory, puts certificates where the image's web config
// expects them, and starts the entrypoint chrooted into the root filesystem
// as the image's user, in mount and network namespaces of its own (so the
// image's default port 9090 is its own).
func TestImage(t *testing.T) {
	image, tool := os.Getenv("MINIPROM_IMAGE"), os.Getenv("MINIPROM_IMAGE_TOOL")
	if image == "" || tool == "" {
		t.Skip("MINIPROM_IMAGE and MINIPROM_IMAGE_TOOL are not set: `make test-image` builds the image and runs this test")
	}
	if os.Geteuid() != 0 {
		msg := "TestImage needs root: it mounts a tmpfs and chroots into the image's root filesystem"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	cfg := inspectImage(t, tool, image)
	require.Equal(t, []string{"/bin/miniprom"}, cfg.Entrypoint)
	require.Contains(t, cfg.Cmd, "--storage.memory.dir="+imageMemoryDir)
	require.Contains(t, cfg.ExposedPorts, "9090/tcp")
	require.Equal(t, "65534:65534", cfg.User, "nobody, not root")

	root := exportImage(t, tool, image)
	passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	require.NoError(t, err)
	require.Contains(t, string(passwd), "nobody:x:65534:65534:")
	tmp, err := os.Stat(filepath.Join(root, "tmp"))
	require.NoError(t, err)
	require.Equal(t, os.ModeDir|os.ModeSticky|0o777, tmp.Mode(), "/tmp")
	roots := x509.NewCertPool()
	pem, err := os.ReadFile(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt"))
	require.NoError(t, err)
	require.True(t, roots.AppendCertsFromPEM(pem), "the image's CA certificates")
	ca := writeImageCerts(t, root)

	t.Run("serves TLS with a tmpfs at the memory directory", func(t *testing.T) {
		p := startImage(t, root, cfg, "512m")
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca)
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
			DialContext:     p.dialContext,
		}}
		base := "https://127.0.0.1:9090"
		require.Eventually(t, func() bool {
			resp, err := client.Get(base + "/-/ready")
			if err != nil {
				return p.exited()
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		}, 30*time.Second, 20*time.Millisecond, "never ready")
		require.False(t, p.exited(), "exited: %v\n%s", p.err, p.stderr.String())

		// Plain HTTP is refused: the image's web config serves TLS only.
		plain := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: p.dialContext}}
		resp, err := plain.Get("http://127.0.0.1:9090/-/ready")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode)

		resp, err = client.Get(base + "/api/v1/status/runtimeinfo")
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Contains(t, string(body), "(RAM-backed files in "+imageMemoryDir+"/miniprom-")

		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		p.wait(t)
		require.NoError(t, p.err, p.stderr.String())
	})

	t.Run("refuses a memory directory that is not RAM-backed", func(t *testing.T) {
		var st unix.Statfs_t
		require.NoError(t, unix.Statfs(filepath.Join(root, imageMemoryDir), &st))
		if st.Type == 0x01021994 {
			t.Skip("the exported root filesystem is itself on a tmpfs ($TMPDIR)")
		}
		p := startImage(t, root, cfg, "")
		p.wait(t)
		requireRefused(t, p, "is not on a RAM-backed filesystem")
	})

	t.Run("refuses a tmpfs as small as Docker's default /dev/shm", func(t *testing.T) {
		p := startImage(t, root, cfg, "64m")
		p.wait(t)
		requireRefused(t, p, "is too small: 64MiB free, the minimum is 256MiB")
	})
}

// requireRefused checks that the image's entrypoint exited 1 at start,
// saying why and how to mount a RAM-backed directory.
func requireRefused(t *testing.T, p *imageProc, why string) {
	t.Helper()
	var exit *exec.ExitError
	require.ErrorAs(t, p.err, &exit, p.stderr.String())
	require.Equal(t, 1, exit.ExitCode(), p.stderr.String())
	logs := p.stderr.String()
	for _, s := range []string{
		"--storage.memory.dir=" + imageMemoryDir + " " + why,
		"--tmpfs " + imageMemoryDir + ":size=",
		"--shm-size",
		"emptyDir volume with medium: Memory and a sizeLimit",
	} {
		require.Contains(t, logs, s)
	}
	require.NotContains(t, logs, "Listening on")
}

// inspectImage reads the image's configuration.
func inspectImage(t *testing.T, tool, image string) imageConfig {
	t.Helper()
	out, err := exec.Command(tool, "image", "inspect", "--format", "{{json .Config}}", image).Output()
	require.NoError(t, err, "%s image inspect %s", tool, image)
	var cfg imageConfig
	require.NoError(t, json.Unmarshal(out, &cfg))
	return cfg
}

// exportImage unpacks the image's root filesystem, as a container made from
// it would see it, into a temporary directory.
func exportImage(t *testing.T, tool, image string) string {
	t.Helper()
	out, err := exec.Command(tool, "create", image).Output()
	require.NoError(t, err, "%s create %s", tool, image)
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command(tool, "rm", id).Run() })
	root := t.TempDir()
	export := exec.Command("sh", "-c", `"$1" export "$2" | tar -x -p -C "$3"`, "sh", tool, id, root)
	export.Stderr = os.Stderr
	require.NoError(t, export.Run(), "%s export %s", tool, id)
	return root
}

// writeImageCerts writes a CA and a server certificate for 127.0.0.1 and
// localhost where the image's web config and prometheus.yml read them
// (tls.crt, tls.key, ca.crt: a Kubernetes TLS Secret's names), owned by the
// image's user. It returns the CA's PEM.
func writeImageCerts(t *testing.T, root string) []byte {
	t.Helper()
	ca, err := devcert.NewCA("miniprom image test CA", time.Hour)
	require.NoError(t, err)
	server, err := ca.Server([]string{"localhost", "127.0.0.1"}, time.Hour)
	require.NoError(t, err)
	dir := filepath.Join(root, imageTLSDir)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	crt, key, err := server.Write(dir, "tls")
	require.NoError(t, err)
	caFile := filepath.Join(dir, "ca.crt")
	require.NoError(t, os.WriteFile(caFile, ca.PEM, 0o644))
	for _, f := range []string{crt, key, caFile} {
		require.NoError(t, os.Chown(f, 65534, 65534))
	}
	return ca.PEM
}

// imageProc is the image's entrypoint running in namespaces of its own.
type imageProc struct {
	cmd    *exec.Cmd
	stderr lockedBuffer
	done   chan struct{}
	err    error // the exit error, once done is closed
}

// imageInit is what TestImageInit does in the started process before it
// becomes the image's entrypoint.
type imageInit struct {
	Root, WorkDir string
	// TmpfsSize mounts a tmpfs of this size at the memory directory, with
	// Docker's default mode (1777); empty mounts none.
	TmpfsSize string
	UID, GID  int
	Argv, Env []string
}

const imageInitEnv = "MINIPROM_IMAGE_INIT"

// startImage starts the image's entrypoint with its default arguments: the
// test binary itself, started again in new mount and network namespaces,
// runs TestImageInit, which mounts, chroots, drops to the image's user and
// executes the entrypoint.
func startImage(t *testing.T, root string, cfg imageConfig, tmpfsSize string) *imageProc {
	t.Helper()
	var uid, gid int
	_, err := fmt.Sscanf(cfg.User, "%d:%d", &uid, &gid)
	require.NoError(t, err, "image user %q", cfg.User)
	spec, err := json.Marshal(imageInit{
		Root: root, WorkDir: cfg.WorkingDir, TmpfsSize: tmpfsSize, UID: uid, GID: gid,
		Argv: append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...), Env: cfg.Env,
	})
	require.NoError(t, err)
	p := &imageProc{done: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], "-test.run=^TestImageInit$")
	p.cmd.Env = []string{imageInitEnv + "=" + string(spec)}
	p.cmd.Stderr = &p.stderr
	// Go makes the new mount namespace's mounts private, so the tmpfs is
	// never seen outside it and goes away with the process.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWNET}
	require.NoError(t, p.cmd.Start())
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *imageProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to exit, within a deadline.
func (p *imageProc) wait(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("still running after 30s:\n%s", p.stderr.String())
	}
}

// dialContext dials from inside the process's network namespace, on a
// thread of its own that joins it and ends with the dial, so that no other
// goroutine ever runs there.
func (p *imageProc) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	type result struct {
		conn net.Conn
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/net", p.cmd.Process.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			ch <- result{err: fmt.Errorf("join network namespace: %w", err)}
			return
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		ch <- result{conn, err}
	}()
	r := <-ch
	return r.conn, r.err
}

// TestImageInit is not a test of its own: startImage runs the test binary
// with only this test, in new namespaces, to set up what a container
// runtime would and then execute the image's entrypoint in place of itself.
func TestImageInit(t *testing.T) {
	spec := os.Getenv(imageInitEnv)
	if spec == "" {
		t.Skip("run by TestImage")
	}
	var s imageInit
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintln(os.Stderr, "image init:", err)
		os.Exit(99)
	}
	err := s.exec()
	fmt.Fprintln(os.Stderr, "image init:", err)
	os.Exit(99)
}

// exec mounts the tmpfs, brings the loopback interface up, enters the root
// filesystem as the image's user and executes the entrypoint. It returns
// only on an error.
func (s imageInit) exec() error {
	if s.TmpfsSize != "" {
		if err := unix.Mount("tmpfs", filepath.Join(s.Root, imageMemoryDir), "tmpfs",
			unix.MS_NOSUID|unix.MS_NODEV, "mode=1777,size="+s.TmpfsSize); err != nil {
			return fmt.Errorf("mount tmpfs: %w", err)
		}
	}
	if err := loopbackUp(); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	if err := unix.Chroot(s.Root); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	wd := s.WorkDir
	if wd == "" {
		wd = "/"
	}
	if err := unix.Chdir(wd); err != nil {
		return fmt.Errorf("chdir %s: %w", wd, err)
	}
	// Go applies these to every thread of the process.
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(s.GID); err != nil {
		return fmt.Errorf("setgid: %w", err)
	}
	if err := syscall.Setuid(s.UID); err != nil {
		return fmt.Errorf("setuid: %w", err)
	}
	return syscall.Exec(s.Argv[0], s.Argv, s.Env)
}

// loopbackUp brings up lo in the current network namespace, which starts
// with it down.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
