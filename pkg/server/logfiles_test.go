package server_test

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestQueryLogFile: global.query_log_file gets one JSON line per query, as
// in Prometheus, and reloading without it stops the log.
func TestQueryLogFile(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "queries.log")
	ts := startServer(t, serverConfig{
		webConfigYML:  "-",
		prometheusYML: strings.Replace(selfScrapeConfig, "global:\n", "global:\n  query_log_file: "+logFile+"\n", 1),
	})
	code, _ := ts.api("/api/v1/query?query=" + url.QueryEscape("vector(42)"))
	require.Equal(t, 200, code)
	ts.eventually(func() bool {
		b, _ := os.ReadFile(logFile)
		return strings.Contains(string(b), `"query":"vector(42)"`)
	}, "query never logged")
}

// TestScrapeFailureLogFile: scrape_failure_log_file gets a JSON line per
// failed scrape, through upstream's file logger, as in Prometheus.
func TestScrapeFailureLogFile(t *testing.T) {
	// A port that refuses connections: listen, note it, close.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	logFile := filepath.Join(t.TempDir(), "failures.log")
	ts := startServer(t, serverConfig{
		webConfigYML: "-",
		prometheusYML: fmt.Sprintf(`
global: {scrape_interval: 1s, scrape_failure_log_file: %q}
scrape_configs:
  - job_name: dead
    static_configs: [{targets: [%q]}]
`, logFile, dead),
	})
	ts.eventually(func() bool {
		b, _ := os.ReadFile(logFile)
		return strings.Contains(string(b), dead) && strings.Contains(string(b), "connection refused")
	}, "failed scrape never logged")
}
