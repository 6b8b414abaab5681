package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v2"

	"github.com/miniprom/miniprom/pkg/devcert"
	"github.com/miniprom/miniprom/pkg/server"
	"github.com/miniprom/miniprom/pkg/storage/storagetest"
	"github.com/miniprom/miniprom/pkg/web"
)

// composeFile is the part of the Compose specification deploy/compose.yaml
// uses. It is decoded strictly: a key not listed here (a typo, or a
// feature this test does not check) fails the test.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]struct{}       `yaml:"volumes"`
}

type composeService struct {
	Image           string   `yaml:"image"`
	Command         []string `yaml:"command"`
	StopGracePeriod string   `yaml:"stop_grace_period"`
	Ports           []string `yaml:"ports"`
	MemLimit        string   `yaml:"mem_limit"`
	Tmpfs           []string `yaml:"tmpfs"`
	Volumes         []string `yaml:"volumes"`
	Healthcheck     struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		Retries     int      `yaml:"retries"`
		StartPeriod string   `yaml:"start_period"`
	} `yaml:"healthcheck"`
	Restart string `yaml:"restart"`
}

// The decisions the image makes, which the Compose file relies on.
const (
	imageEntrypoint = "/bin/miniprom"
	imageUID        = "65534"
	imagePort       = "9090"
)

// composeSize parses a tmpfs or mem_limit size: a number with an optional
// k, m or g (powers of 1024), as Docker reads them.
func composeSize(t *testing.T, s string) int64 {
	t.Helper()
	m := regexp.MustCompile(`^(\d+)([kmg]?)b?$`).FindStringSubmatch(strings.ToLower(s))
	require.NotNil(t, m, "size %q", s)
	n, err := strconv.ParseInt(m[1], 10, 64)
	require.NoError(t, err)
	return n << map[string]int{"": 0, "k": 10, "m": 20, "g": 30}[m[2]]
}

// TestComposeFile decodes deploy/compose.yaml strictly and checks what it
// promises: the image of this VERSION, the TSDB in a tmpfs the container's
// user owns, with a retention size below the tmpfs's size and a memory
// limit above it, the snapshot on a named volume, every mounted file
// present (once the certificates the header says how to make exist) and
// the configs accepted by miniprom's loader and promtool. Then it runs
// the service's command as the container would (the mounts laid out in a
// directory standing for its root) and its health check against it.
//
// The command names --storage.memory.snapshot-dir: this test passes once
// that flag is in miniprom.
func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(deployDir, "compose.yaml"))
	require.NoError(t, err)
	var f composeFile
	require.NoError(t, yaml.UnmarshalStrict(raw, &f), "deploy/compose.yaml")
	require.Len(t, f.Services, 1)
	svc, ok := f.Services["miniprom"]
	require.True(t, ok, "service miniprom")

	version, err := os.ReadFile(filepath.Join("..", "..", "VERSION"))
	require.NoError(t, err)
	require.Equal(t, "miniprom:"+strings.TrimSpace(string(version)), svc.Image)
	require.Equal(t, []string{imagePort + ":" + imagePort}, svc.Ports)

	flags := flagValues(t, svc.Command)
	_, listen := flags["web.listen-address"]
	require.False(t, listen, "the default listen address is the port published")
	parsesAsMiniprom(t, svc.Command)

	// The RAM directory: a tmpfs the container's user owns.
	require.Len(t, svc.Tmpfs, 1)
	target, opts, _ := strings.Cut(svc.Tmpfs[0], ":")
	require.Equal(t, flags["storage.memory.dir"], target)
	tmpfsOpts := map[string]string{}
	for _, o := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(o, "=")
		tmpfsOpts[k] = v
	}
	require.Equal(t, imageUID, tmpfsOpts["uid"], "the tmpfs belongs to the container's user")
	size := composeSize(t, tmpfsOpts["size"])
	retention := bytesFlag(t, flags["storage.tsdb.retention.size"])
	require.LessOrEqual(t, float64(retention), maxRetentionShare*float64(size),
		"--storage.tsdb.retention.size leaves the tmpfs room for compaction")
	require.Greater(t, composeSize(t, svc.MemLimit), size, "mem_limit covers the tmpfs and the heap")

	// The snapshot: a named volume, and time to write it at stop.
	binds := map[string]string{} // container path -> host path, relative to deploy/
	var snapshotVolume string
	for _, v := range svc.Volumes {
		parts := strings.Split(v, ":")
		require.GreaterOrEqual(t, len(parts), 2, "volume %q", v)
		if strings.HasPrefix(parts[0], "./") {
			require.Equal(t, []string{"ro"}, parts[2:], "bind mount %q is read-only", v)
			binds[parts[1]] = parts[0]
			continue
		}
		require.Contains(t, f.Volumes, parts[0], "named volume %q is declared", parts[0])
		require.Equal(t, flags["storage.memory.snapshot-dir"], parts[1])
		snapshotVolume = parts[1]
	}
	require.NotEmpty(t, snapshotVolume, "the snapshot directory is on a named volume")
	grace, err := time.ParseDuration(svc.StopGracePeriod)
	require.NoError(t, err)
	require.GreaterOrEqual(t, grace, snapshotTime(retention), "stop_grace_period leaves time to write the snapshot")

	// The container's files: the bind mounts laid out under root, with the
	// certificates made as the file's header says.
	tmp := t.TempDir()
	_, err = devcert.WriteDevSet(filepath.Join(tmp, "certs"), []string{"localhost", "127.0.0.1", "miniprom"})
	require.NoError(t, err)
	root := filepath.Join(tmp, "root")
	for target, src := range binds {
		from := filepath.Join(deployDir, src)
		if strings.HasPrefix(src, "./certs/") {
			from = filepath.Join(tmp, src)
		}
		require.FileExists(t, from, "the source of %s", target)
		copyFile(t, from, filepath.Join(root, target))
	}
	inRoot := func(p string) string {
		require.True(t, filepath.IsAbs(p), "%q is absolute", p)
		require.FileExists(t, filepath.Join(root, p), "%s is mounted", p)
		return filepath.Join(root, p)
	}
	cfg, webCfg := inRoot(flags["config.file"]), inRoot(flags["web.config.file"])
	require.NoError(t, server.CheckConfig(cfg, server.Features{}, promslog.NewNopLogger()))
	require.NoError(t, web.ValidateWebConfig(webCfg))
	out, err := exec.Command(promtool(t), "check", "config", cfg).CombinedOutput()
	require.NoError(t, err, "promtool check config:\n%s", out)

	// The health check runs the image's binary over TLS.
	hc := svc.Healthcheck.Test
	require.GreaterOrEqual(t, len(hc), 3)
	require.Equal(t, []string{"CMD", imageEntrypoint, "healthcheck"}, hc[:3])
	hcFlags := flagValues(t, hc[3:])
	require.Equal(t, "https://localhost:"+imagePort+"/-/healthy", hcFlags["url"])
	for _, d := range []string{svc.Healthcheck.Interval, svc.Healthcheck.Timeout, svc.Healthcheck.StartPeriod} {
		_, err := time.ParseDuration(d)
		require.NoError(t, err)
	}

	// Run the command as the container would, on a free port, the RAM
	// directory on /dev/shm and the snapshot in a directory on a disk.
	var args []string
	for _, a := range svc.Command {
		name, value, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		switch name {
		case "config.file", "web.config.file":
			value = inRoot(value)
		case "storage.memory.dir":
			value = storagetest.MemoryDir(t)
		case "storage.memory.snapshot-dir":
			value = t.TempDir()
		}
		args = append(args, "--"+name+"="+value)
	}
	_, addr := startArgs(t, append(args, "--web.listen-address=127.0.0.1:0")...)
	bin, err := binary()
	require.NoError(t, err)
	var check []string
	for _, a := range hc[3:] {
		name, value, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		switch name {
		case "url":
			value = strings.Replace(value, ":"+imagePort+"/", ":"+portOf(t, addr)+"/", 1)
		case "ca-file":
			value = inRoot(value)
		}
		check = append(check, "--"+name+"="+value)
	}
	var last bytes.Buffer
	require.Eventually(t, func() bool {
		last.Reset()
		cmd := exec.Command(bin, append([]string{"healthcheck"}, check...)...)
		cmd.Stdout, cmd.Stderr = &last, &last
		return cmd.Run() == nil
	}, 30*time.Second, 50*time.Millisecond, "the health check never passed: %s", &last)
}
