package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/config"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v2"

	"github.com/miniprom/miniprom/pkg/devcert"
	"github.com/miniprom/miniprom/pkg/web"
)

// TestInvalidStartupExitsNonZero: a bad config or web config stops the
// start with exit code 1 and a message naming the file and the problem; it
// never falls back to plain HTTP.
func TestInvalidStartupExitsNonZero(t *testing.T) {
	dir := t.TempDir()
	_, err := devcert.WriteDevSet(dir, []string{"127.0.0.1"})
	require.NoError(t, err)
	goodCfg := write(t, dir, "good.yml", "scrape_configs: []\n")
	goodWeb := write(t, dir, "web.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n")

	for _, tc := range []struct {
		name, config, webConfig string
		wantInLog               []string
	}{
		{"config does not parse", write(t, dir, "bad.yml", "scrape_configs:\n  - job_name: [\n"), goodWeb, []string{"bad.yml"}},
		{"config has an unknown field", write(t, dir, "unknown.yml", "scrape_config: []\n"), goodWeb, []string{"unknown.yml", "scrape_config"}},
		{"config missing", filepath.Join(dir, "missing.yml"), goodWeb, []string{"missing.yml"}},
		{"web config has an unknown field", goodCfg, write(t, dir, "web-unknown.yml", "tls_server_confg: {}\n"), []string{"web-unknown.yml", "tls_server_confg"}},
		{"web config certificate missing", goodCfg, write(t, dir, "web-nocert.yml", "tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n"), []string{"web-nocert.yml", "nope.crt"}},
		{"web config bad client auth", goodCfg, write(t, dir, "web-auth.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: Sometimes\n"), []string{"web-auth.yml", "Sometimes"}},
		{"web config bad TLS version", goodCfg, write(t, dir, "web-tls10.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS9\n"), []string{"web-tls10.yml", "TLS9"}},
		{"web config missing", goodCfg, filepath.Join(dir, "no-web.yml"), []string{"no-web.yml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run([]string{
				"--config.file=" + tc.config,
				"--web.config.file=" + tc.webConfig,
				"--web.listen-address=127.0.0.1:0",
			}, &stdout, &stderr)
			require.Equal(t, 1, code)
			for _, s := range tc.wantInLog {
				require.Contains(t, stderr.String(), s)
			}
			require.NotContains(t, stderr.String(), "Listening on")
		})
	}
}

func TestFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"--version"}, &stdout, &stderr))
	require.Contains(t, stdout.String()+stderr.String(), "miniprom, version")

	stdout.Reset()
	require.Equal(t, 0, run([]string{"--help"}, &stdout, &stderr))
	for _, f := range []string{
		"config.file=", "web.config.file=", "web.external-url=", "web.route-prefix=",
		"web.listen-address=0.0.0.0:9090", "web.read-timeout=5m", "web.max-connections=512",
		"web.enable-lifecycle", "web.enable-admin-api", "web.cors.origin=",
		"storage.tsdb.retention.time=", "query.timeout=2m", "query.max-samples=50000000",
		"query.lookback-delta=5m", "query.max-concurrency=20", "log.level=info", "log.format=logfmt",
	} {
		require.Contains(t, stdout.String(), f)
	}

	stderr.Reset()
	require.Equal(t, 2, run([]string{"--no-such-flag"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "no-such-flag")
}

// TestExampleFilesValidate loads the checked-in example configs the way
// `make run` uses them.
func TestExampleFilesValidate(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"prometheus.example.yml", "web-config.example.yml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", f))
		require.NoError(t, err)
		write(t, dir, f, string(b))
	}
	_, err := devcert.WriteDevSet(filepath.Join(dir, ".dev"), []string{"localhost"})
	require.NoError(t, err)

	cfg, err := config.LoadFile(filepath.Join(dir, "prometheus.example.yml"), false, promslog.NewNopLogger())
	require.NoError(t, err)
	require.Len(t, cfg.ScrapeConfigs, 1)
	require.Equal(t, "https", cfg.ScrapeConfigs[0].Scheme)
	require.NoError(t, web.ValidateWebConfig(filepath.Join(dir, "web-config.example.yml")))

	// Modern cipher suites only: forward secret and AEAD, no CBC.
	var wc struct {
		TLS struct {
			CipherSuites []string `yaml:"cipher_suites"`
		} `yaml:"tls_server_config"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "web-config.example.yml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &wc))
	require.NotEmpty(t, wc.TLS.CipherSuites, "the example lists its cipher suites")
	for _, c := range wc.TLS.CipherSuites {
		require.NotContains(t, c, "CBC")
		require.Contains(t, c, "ECDHE")
		require.Regexp(t, "GCM|CHACHA20_POLY1305", c)
	}
}
