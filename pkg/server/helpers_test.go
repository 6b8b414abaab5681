package server_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// This file holds the package's test helpers that are not testServer's
// (harness_test.go): one to write a file, one to ask over HTTP, one to
// read a metric. The last two return errors rather than fail the test, so
// they are safe inside a polled function.

// writeFile writes content to dir/name, then renames it into place, so
// file_sd and reloads never see a partial file.
func writeFile(tb testing.TB, dir, name, content string) {
	tb.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	require.NoError(tb, os.WriteFile(tmp, []byte(content), 0o600))
	require.NoError(tb, os.Rename(tmp, filepath.Join(dir, name)))
}

// fetch sends a request without a body to u with c (nil is
// http.DefaultClient) and returns the status code and body.
func fetch(c *http.Client, method, u string) (int, string, error) {
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// metricValue is the sum of the counters and gauges called name, among the
// series whose labels include labels (nil: every series), that g gathers.
func metricValue(g prometheus.Gatherer, name string, labels map[string]string) (float64, error) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, err
	}
	var v float64
	found := false
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				v, found = v+m.GetCounter().GetValue(), true
			case m.Gauge != nil:
				v, found = v+m.GetGauge().GetValue(), true
			}
		}
	}
	if !found {
		return 0, fmt.Errorf("no metric %s%v", name, labels)
	}
	return v, nil
}
