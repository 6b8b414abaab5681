package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

// TestPrometheusAPIClient talks to miniprom with client_golang's API client,
// as Prometheus API users' programs do.
func TestPrometheusAPIClient(t *testing.T) {
	ts := startServer(t, serverConfig{})
	ts.waitForSelfScrape()
	client, err := promapi.NewClient(promapi.Config{Address: ts.Base, Client: ts.Client})
	require.NoError(t, err)
	api := v1.NewAPI(client)
	ctx := context.Background()

	val, warnings, _, err := api.Query(ctx, `up{job="miniprom"}`, time.Now())
	require.NoError(t, err)
	require.Empty(t, warnings)
	vec, ok := val.(model.Vector)
	require.True(t, ok, "%T", val)
	require.Len(t, vec, 1)
	require.Equal(t, model.SampleValue(1), vec[0].Value)

	rng, _, _, err := api.QueryRange(ctx, "up", v1.Range{Start: time.Now().Add(-time.Minute), End: time.Now(), Step: time.Second})
	require.NoError(t, err)
	require.Equal(t, model.ValMatrix, rng.Type())

	values, _, _, err := api.LabelValues(ctx, "job", nil, time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Equal(t, model.LabelValues{"miniprom"}, values)

	series, _, _, err := api.Series(ctx, []string{"up"}, time.Now().Add(-time.Hour), time.Now())
	require.NoError(t, err)
	require.Len(t, series, 1)

	targets, err := api.Targets(ctx)
	require.NoError(t, err)
	require.Len(t, targets.Active, 1)
	require.Equal(t, v1.HealthGood, targets.Active[0].Health)

	flags, err := api.Flags(ctx)
	require.NoError(t, err)
	require.Equal(t, "prometheus.yml", flags["config.file"])

	_, err = api.Runtimeinfo(ctx)
	require.NoError(t, err)
	_, err = api.Buildinfo(ctx)
	require.NoError(t, err)

	_, _, _, err = api.Query(ctx, "sum(", time.Now())
	var apiErr *v1.Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, v1.ErrBadData, apiErr.Type)
}

// TestPromtool queries miniprom over HTTPS with Debian's promtool, trusting
// the test CA through SSL_CERT_FILE as any Go client would.
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (apt-get install prometheus)")
	}
	ts := startServer(t, serverConfig{})
	ts.waitForSelfScrape()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(promtool, args...)
		cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+filepath.Join(ts.Dir, "ca.crt"))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	require.Contains(t, run("query", "instant", ts.Base, `up{job="miniprom"}`), `job="miniprom"} => 1 @`)
	require.Contains(t, run("query", "labels", ts.Base, "job"), "miniprom")
	require.Contains(t, run("query", "series", "--match=up", ts.Base), `job="miniprom"`)
	require.Contains(t, run("check", "config", filepath.Join(ts.Dir, "prometheus.yml")), "SUCCESS")
	require.Contains(t, run("check", "web-config", filepath.Join(ts.Dir, "web.yml")), "SUCCESS")
}
