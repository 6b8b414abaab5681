package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// This file holds the package's test helpers besides the process harness
// (proc_test.go): one to write a file, one to ask over HTTP, one to read a
// metric. The last two return errors rather than fail the test, so they are
// safe inside a polled function.

// write writes content to dir/name and returns the path.
func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// fetch sends method to u with body (may be nil) and headers, and returns
// the status code and body.
func fetch(method, u string, body io.Reader, headers map[string]string) (int, string, error) {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return 0, "", err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// metricValue reads the sample of the series called name (without labels)
// from base's /metrics, as exposed.
func metricValue(base, name string) (string, error) {
	code, body, err := fetch(http.MethodGet, base+"/metrics", nil, nil)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("/metrics answered %d", code)
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("no %s in /metrics: %v", name, sc.Err())
}
