package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/devcert"
	"github.com/miniprom/miniprom/pkg/server"
)

// promtool finds Prometheus 3.16's promtool: $MINIPROM_REF_PROMTOOL, the
// one .ci/run builds beside the reference Prometheus, or one on $PATH.
func promtool(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("MINIPROM_REF_PROMTOOL")}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".cache", "miniprom", "ref-v0.316.0", "promtool"))
	}
	for _, c := range candidates {
		if c != "" {
			if _, err := os.Stat(c); err == nil {
				return c
			}
		}
	}
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("no promtool: set MINIPROM_REF_PROMTOOL or run .ci/run")
	}
	return p
}

// notBuiltIn are example configs the default build refuses on purpose,
// with the part of the message that must say why.
var notBuiltIn = map[string]string{
	"kubernetes.example.yml": "kubernetes_sd_configs is not built into miniprom",
}

// TestExampleConfigsAgreeWithPromtool: every example prometheus.yml in the
// repository passes `promtool check config`, and miniprom accepts it too,
// or (kubernetes.example.yml without -tags kubernetes) refuses it naming
// the discovery it lacks.
func TestExampleConfigsAgreeWithPromtool(t *testing.T) {
	tool := promtool(t)
	examples, err := filepath.Glob(filepath.Join("..", "..", "*.example.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, examples)
	dir := t.TempDir()
	// prometheus.example.yml trusts the development CA of `make run`.
	_, err = devcert.WriteDevSet(filepath.Join(dir, ".dev"), []string{"localhost"})
	require.NoError(t, err)
	for _, ex := range examples {
		name := filepath.Base(ex)
		if strings.HasPrefix(name, "web-config") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(ex)
			require.NoError(t, err)
			p := write(t, dir, name, string(b))
			out, err := exec.Command(tool, "check", "config", p).CombinedOutput()
			require.NoError(t, err, "promtool check config %s:\n%s", name, out)

			err = server.CheckConfig(p, server.Features{}, promslog.NewNopLogger())
			if why, ok := notBuiltIn[name]; ok && !kubernetesBuiltIn {
				require.ErrorContains(t, err, why)
				return
			}
			require.NoError(t, err)
		})
	}
}
