package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestTracingSendsSpans: the config file's tracing section sends the query
// engine's spans to an OTLP/HTTP receiver (here one run by the test), as
// in Prometheus.
func TestTracingSendsSpans(t *testing.T) {
	spans := &syncBuffer{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" {
			http.NotFound(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		spans.Write(b)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(receiver.Close)
	tracing := fmt.Sprintf("tracing:\n  endpoint: %s\n  client_type: http\n  insecure: true\n  sampling_fraction: 1\n", strings.TrimPrefix(receiver.URL, "http://"))
	ts := startServer(t, serverConfig{webConfigYML: "-", prometheusYML: selfScrapeConfig + tracing})
	code, _ := ts.api("/api/v1/query?query=" + url.QueryEscape("sum(up)"))
	if code != 200 {
		t.Fatalf("query: %d", code)
	}
	// The batch exporter sends within its 5s batch timeout.
	ts.eventually(func() bool {
		return bytes.Contains([]byte(spans.String()), []byte("promqlExpandSeries"))
	}, "no query span reached the OTLP receiver")
}
