package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// intendedMissingFamilies are Prometheus 3.16 self-metric families miniprom
// does not export, and why.
var intendedMissingFamilies = map[*regexp.Regexp]string{
	// Service discoveries not built in (see DiscoveryKinds).
	regexp.MustCompile(`^prometheus_sd_(azure|kuma|linode|nomad|eureka|gce|hetzner|ionos|marathon|openstack|ovhcloud|puppetdb|scaleway|triton|uyuni|vultr|stackit|outscale|oci|aws|ec2|lightsail|digitalocean)_`): "discovery not built in",
	regexp.MustCompile(`^prometheus_treecache_`):        "ZooKeeper (serverset, nerve) discovery not built in",
	regexp.MustCompile(`^prometheus_sd_kubernetes_`):    "Kubernetes discovery needs -tags kubernetes",
	regexp.MustCompile(`^prometheus_tsdb_wal_`):         "no WAL in memory",
	regexp.MustCompile(`^prometheus_remote_storage_.*`): "the remote storage registers its families when remote_write is configured",
}

// familyNames fetches /metrics and returns its family names.
func familyNames(url string) ([]string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			names = append(names, f[2])
		}
	}
	return names, nil
}

// TestSelfMetricsAndFeaturesMatchPrometheus runs miniprom and a real
// Prometheus 3.16 with the same config, both scraping themselves, and
// compares the self-metric family names (Prometheus's, minus the intended
// differences above, must all be in miniprom, whose extras are miniprom_*)
// and /api/v1/features.
func TestSelfMetricsAndFeaturesMatchPrometheus(t *testing.T) {
	ref := os.Getenv(refPrometheusEnv)
	if ref == "" {
		t.Skipf("set %s to a Prometheus 3.16 binary (.ci/run builds one)", refPrometheusEnv)
	}
	port := freePort(t)
	cfg := func(self string) string {
		return fmt.Sprintf("global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: self\n    static_configs: [{targets: [%q]}]\n", self)
	}
	promURL := startReferencePrometheus(t, ref, cfg("127.0.0.1:"+port))
	mini := startServer(t, serverConfig{webConfigYML: "-", prometheusYML: cfg("placeholder:1")})
	writeFile(t, mini.Dir, "prometheus.yml", cfg(mini.Addr().String()))
	require.NoError(t, mini.Reload(t.Context()))

	// Wait until both have scraped themselves a few times, so the families
	// that appear with the first scrape, sync and rule evaluation exist.
	settled := func(base string) func() bool {
		return func() bool {
			code, body, _ := fetch(nil, http.MethodGet, base+"/api/v1/query?query="+"count_over_time(up%7Bjob%3D%22self%22%7D%5B1m%5D)%20%3E%3D%205")
			return code == 200 && strings.Contains(body, `"value":[`)
		}
	}
	require.Eventually(t, settled(promURL), 60*time.Second, 200*time.Millisecond, "Prometheus never scraped itself")
	require.Eventually(t, settled(mini.Base), 60*time.Second, 200*time.Millisecond, "miniprom never scraped itself")

	missing := func() ([]string, []string, error) {
		want, err := familyNames(promURL + "/metrics")
		if err != nil {
			return nil, nil, err
		}
		got, err := familyNames(mini.Base + "/metrics")
		if err != nil {
			return nil, nil, err
		}
		var miss, extra []string
		for _, f := range want {
			if slices.Contains(got, f) {
				continue
			}
			intended := false
			for re := range intendedMissingFamilies {
				intended = intended || re.MatchString(f)
			}
			if !intended {
				miss = append(miss, f)
			}
		}
		for _, f := range got {
			if !slices.Contains(want, f) && !strings.HasPrefix(f, "miniprom_") {
				extra = append(extra, f)
			}
		}
		return miss, extra, nil
	}
	// Some families appear only after their first event (a scrape, a rule
	// evaluation, an HTTP request), so compare once both have settled.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		miss, _, err := missing()
		if !assert.NoError(c, err) {
			return
		}
		assert.Empty(c, miss, "Prometheus 3.16 families miniprom lacks")
	}, 60*time.Second, 500*time.Millisecond)
	_, extra, err := missing()
	require.NoError(t, err)
	t.Logf("families in miniprom and not (yet) in Prometheus: %v", extra)
	w, _ := familyNames(promURL + "/metrics")
	g, _ := familyNames(mini.Base + "/metrics")
	t.Logf("families: Prometheus %d, miniprom %d", len(w), len(g))

	features := func(base string) map[string]map[string]bool {
		code, body, err := fetch(nil, http.MethodGet, base+"/api/v1/features")
		require.NoError(t, err)
		require.Equal(t, 200, code, body)
		var r struct {
			Data map[string]map[string]bool `json:"data"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &r))
		return r.Data
	}
	want, got := features(promURL), features(mini.Base)
	// Discoveries not built in are absent from miniprom's registry.
	for name := range want["service_discovery_providers"] {
		if _, ok := got["service_discovery_providers"][name]; !ok {
			delete(want["service_discovery_providers"], name)
		}
	}
	assert.Equal(t, want, got)
}
