package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// unitFile is a systemd unit: section -> key -> values, in order (a key
// may be given more than once). Continuation lines are joined.
type unitFile map[string]map[string][]string

func readUnit(t *testing.T, path string) unitFile {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	u := unitFile{}
	section := ""
	var pending string
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if pending != "" {
			line = pending + " " + line
			pending = ""
		}
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			pending = strings.TrimSpace(strings.TrimSuffix(line, `\`))
			continue
		}
		if strings.HasPrefix(line, "[") {
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "line %q", line)
		require.NotEmpty(t, section, "key %s outside a section", k)
		u[section][k] = append(u[section][k], v)
	}
	require.NoError(t, s.Err())
	return u
}

// one returns the single value of a key, failing if it is missing or given
// more than once.
func (u unitFile) one(t *testing.T, section, key string) string {
	t.Helper()
	v := u[section][key]
	require.Len(t, v, 1, "[%s] %s", section, key)
	return v[0]
}

// TestSystemdUnit checks deploy/miniprom.service: systemd-analyze verify
// finds nothing to say about it (run on a copy whose ExecStart is the
// binary this test builds, as verify needs an executable there), it is
// sandboxed, the RAM directory is its RuntimeDirectory under /run and the
// snapshot its StateDirectory (the only writable paths), the retention
// size fits in MemoryMax, and miniprom's flag parser takes its arguments.
//
// The arguments name --storage.memory.snapshot-dir: this test passes once
// that flag is in miniprom.
func TestSystemdUnit(t *testing.T) {
	unit := filepath.Join(deployDir, "miniprom.service")
	u := readUnit(t, unit)
	svc := "Service"

	for key, want := range map[string]string{
		"DynamicUser":             "yes",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectControlGroups":    "yes",
		"RestrictSUIDSGID":        "yes",
		"CapabilityBoundingSet":   "",
		"AmbientCapabilities":     "",
		"MemoryDenyWriteExecute":  "yes",
		"RuntimeDirectory":        "miniprom",
		"RuntimeDirectoryMode":    "0700",
		"StateDirectory":          "miniprom",
		"SystemCallArchitectures": "native",
	} {
		require.Equal(t, want, u.one(t, svc, key), "[Service] %s", key)
	}
	require.NotContains(t, u[svc], "ReadWritePaths", "only the runtime and state directories are writable")
	require.NotContains(t, u[svc], "User", "DynamicUser: no fixed user")

	execStart := strings.Fields(u.one(t, svc, "ExecStart"))
	require.Equal(t, "/usr/local/bin/miniprom", execStart[0])
	flags := flagValues(t, execStart[1:])
	parsesAsMiniprom(t, execStart[1:])
	require.Equal(t, "/run/"+u.one(t, svc, "RuntimeDirectory"), flags["storage.memory.dir"], "the RAM directory is the runtime directory, on /run's tmpfs")
	require.Equal(t, "/var/lib/"+u.one(t, svc, "StateDirectory"), flags["storage.memory.snapshot-dir"], "the snapshot is the state directory")
	retention := bytesFlag(t, flags["storage.tsdb.retention.size"])
	memoryMax := bytesFlag(t, u.one(t, svc, "MemoryMax")+"B") // systemd's 3G is 3 GiB
	require.Less(t, 2*retention, memoryMax, "MemoryMax covers the RAM directory's files and a heap as large")
	stop, err := time.ParseDuration(u.one(t, svc, "TimeoutStopSec"))
	if err != nil {
		stop, err = time.ParseDuration(u.one(t, svc, "TimeoutStopSec") + "s")
	}
	require.NoError(t, err)
	require.GreaterOrEqual(t, stop, snapshotTime(retention), "time to write the snapshot at stop")

	t.Run("systemd-analyze verify", func(t *testing.T) {
		analyze := lookSystemdAnalyze(t)
		bin, err := binary()
		require.NoError(t, err)
		raw, err := os.ReadFile(unit)
		require.NoError(t, err)
		verify := func(text string) (string, error) {
			p := write(t, t.TempDir(), "miniprom.service", strings.Replace(text, "ExecStart=/usr/local/bin/miniprom ", "ExecStart="+bin+" ", 1))
			return runCombined(analyze, "verify", p)
		}
		out, err := verify(string(raw))
		require.NoError(t, err, "%s", out)
		require.Empty(t, out, "systemd-analyze verify has something to say")
		// verify exits 0 on unknown keys and bad values, but says so.
		out, _ = verify(strings.Replace(string(raw), "ProtectHome=yes", "ProtectHome=yes\nProtectHomee=yes", 1))
		require.Contains(t, out, "Unknown key 'ProtectHomee'")
	})
}

func lookSystemdAnalyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze: apt-get install systemd")
	}
	return p
}

func runCombined(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}
