package server_test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/devcert"
	"github.com/miniprom/miniprom/pkg/server"
	"github.com/miniprom/miniprom/pkg/storage/storagetest"
)

// testServer is a whole miniprom running in-process on 127.0.0.1:0 with
// TLS from a CA made for the test.
type testServer struct {
	*server.Server
	// t is the test, or a pollT while eventually polls.
	t      testing.TB
	Dir    string
	CA     *devcert.CA
	Base   string // https://127.0.0.1:port<prefix>
	Client *http.Client

	cancel context.CancelFunc
	done   chan error
	logs   *testWriter
}

// defaultWebConfig enables TLS with the test's server certificate.
const defaultWebConfig = `
tls_server_config:
  cert_file: server.crt
  key_file: server.key
`

// selfScrapeConfig scrapes the server itself over HTTPS, through a file_sd
// file the harness fills in once the port is known.
const selfScrapeConfig = `
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: miniprom
    scheme: https
    tls_config:
      ca_file: ca.crt
    file_sd_configs:
      - files: [targets.json]
        refresh_interval: 1s
`

type serverConfig struct {
	prometheusYML string
	webConfigYML  string // "" means defaultWebConfig; "-" means no web config
	options       func(*server.Options)
	// files are extra files written into the test dir before start.
	files map[string]string
}

// startServer writes the configs and certificates into a temp dir, starts
// the server and waits until it reports ready.
func startServer(t *testing.T, c serverConfig) *testServer {
	t.Helper()
	ts := newServer(t, c)
	ts.start()
	return ts
}

func newServer(t *testing.T, c serverConfig) *testServer {
	t.Helper()
	dir := t.TempDir()
	ca, err := devcert.NewCA("test CA", time.Hour)
	require.NoError(t, err)
	srvPair, err := ca.Server([]string{"127.0.0.1", "localhost"}, time.Hour)
	require.NoError(t, err)
	_, _, err = srvPair.Write(dir, "server")
	require.NoError(t, err)
	writeFile(t, dir, "ca.crt", string(ca.PEM))
	writeFile(t, dir, "targets.json", "[]")

	if c.prometheusYML == "" {
		c.prometheusYML = selfScrapeConfig
	}
	writeFile(t, dir, "prometheus.yml", c.prometheusYML)
	for name, content := range c.files {
		writeFile(t, dir, name, content)
	}
	logs := &testWriter{t: t}
	o := server.DefaultOptions()
	o.Logger = promslog.New(&promslog.Config{Writer: logs})
	o.ConfigFile = filepath.Join(dir, "prometheus.yml")
	o.ListenAddresses = []string{"127.0.0.1:0"}
	o.ReadTimeout = time.Minute
	o.MaxConnections = 64
	o.CORSOrigin = ".*"
	o.MemoryDir = storagetest.MemoryDir(t)
	o.Flags = map[string]string{"config.file": "prometheus.yml"}
	switch c.webConfigYML {
	case "":
		c.webConfigYML = defaultWebConfig
		fallthrough
	default:
		writeFile(t, dir, "web.yml", c.webConfigYML)
		o.WebConfigFile = filepath.Join(dir, "web.yml")
	case "-":
	}
	if c.options != nil {
		c.options(&o)
	}
	// Relative paths in the configs (certificates, file_sd) resolve against
	// the config files' directory, as in Prometheus; exporter-toolkit
	// resolves web config paths the same way.
	srv, err := server.New(o)
	require.NoError(t, err)

	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	scheme := "https"
	if o.WebConfigFile == "" {
		scheme = "http"
	}
	ts := &testServer{
		Server: srv,
		t:      t,
		Dir:    dir,
		CA:     ca,
		logs:   logs,
		Base:   fmt.Sprintf("%s://%s%s", scheme, srv.Addr(), strings.TrimRight(server.RoutePrefix(o.RoutePrefix, srv.ExternalURL()), "/")),
		Client: &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		},
	}
	return ts
}

func (ts *testServer) start() {
	t := ts.t
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel, ts.done = cancel, make(chan error, 1)
	go func() { ts.done <- ts.Run(ctx) }()
	t.Cleanup(func() { require.NoError(t, ts.stop()) })
	// Point the self-scrape job at the real port.
	writeFile(t, ts.Dir, "targets.json", fmt.Sprintf(`[{"targets":["%s"]}]`, ts.Addr()))
	select {
	case <-ts.Ready():
	case err := <-ts.done:
		t.Fatalf("server stopped before it was ready: %v", err)
	}
}

// stop shuts the server down (once) and returns Run's error.
func (ts *testServer) stop() error {
	if ts.cancel == nil {
		return nil
	}
	ts.cancel()
	ts.cancel = nil
	select {
	case err := <-ts.done:
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("server did not stop within 30s")
	}
}

// eventually polls cond until it holds. The helpers cond calls (get, api,
// queryVector, ...) use require; while polled, they see a pollT instead of
// the test, so a failed check ends that poll with false rather than calling
// FailNow on the polling goroutine, which would hang the test for the whole
// timeout.
func (ts *testServer) eventually(cond func() bool, msg string) {
	ts.t.Helper()
	real := ts.t
	p := &pollT{TB: real}
	ts.t = p
	ok := assert.Eventually(&quietT{}, func() bool { return p.try(cond) }, 20*time.Second, 50*time.Millisecond)
	ts.t = real
	if !ok {
		real.Fatalf("%s (last failed check: %s)", msg, p.lastFailure())
	}
}

// pollT stands in for the test inside a polled function: failures end the
// poll instead of the test.
type pollT struct {
	testing.TB
	mu   sync.Mutex
	last string
}

type pollFailed struct{}

func (p *pollT) Errorf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = fmt.Sprintf(format, args...)
}
func (p *pollT) Fatalf(format string, args ...any) { p.Errorf(format, args...); p.FailNow() }
func (p *pollT) FailNow()                          { panic(pollFailed{}) }
func (p *pollT) Helper()                           {}

func (p *pollT) lastFailure() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// try runs cond; a failed require inside it makes it false.
func (p *pollT) try(cond func() bool) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, failed := r.(pollFailed); !failed {
				panic(r)
			}
			ok = false
		}
	}()
	return cond()
}

// quietT receives assert.Eventually's own failure, which eventually reports
// itself with the last failed check.
type quietT struct{}

func (quietT) Errorf(string, ...any) {}

// get fetches base+path and returns the status code and body.
func (ts *testServer) get(path string) (int, string) {
	ts.t.Helper()
	code, body, err := fetch(ts.Client, http.MethodGet, ts.Base+path)
	require.NoError(ts.t, err)
	return code, body
}

// apiResponse is the v1 API's envelope.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

func (ts *testServer) api(path string) (int, apiResponse) {
	ts.t.Helper()
	code, body := ts.get(path)
	var r apiResponse
	require.NoError(ts.t, json.Unmarshal([]byte(body), &r), body)
	return code, r
}

// waitForSelfScrape waits until the self-scrape has stored samples.
func (ts *testServer) waitForSelfScrape() {
	ts.t.Helper()
	ts.eventually(func() bool {
		code, r := ts.api("/api/v1/query?query=up")
		return code == 200 && strings.Contains(string(r.Data), `"job":"miniprom"`)
	}, "self-scrape never stored up")
}

// testWriter sends the server's log to the test log and keeps it for
// assertions.
type testWriter struct {
	t *testing.T
	syncBuffer
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return w.syncBuffer.Write(p)
}

// freePort asks the kernel for a free loopback port, for peers (real
// Prometheus, Alertmanager, ...) that cannot report the port they took.
func freePort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// targetsOf returns the active targets of one scrape pool.
func (ts *testServer) targetsOf(pool string) []activeTarget {
	ts.t.Helper()
	_, r := ts.api("/api/v1/targets")
	var data struct {
		ActiveTargets []activeTarget `json:"activeTargets"`
	}
	require.NoError(ts.t, json.Unmarshal(r.Data, &data))
	var out []activeTarget
	for _, tg := range data.ActiveTargets {
		if tg.ScrapePool == pool {
			out = append(out, tg)
		}
	}
	return out
}

// activeAlertmanagers returns the URLs in /api/v1/alertmanagers.
func (ts *testServer) activeAlertmanagers() []string {
	ts.t.Helper()
	_, r := ts.api("/api/v1/alertmanagers")
	var data struct {
		Active []struct {
			URL string `json:"url"`
		} `json:"activeAlertmanagers"`
	}
	require.NoError(ts.t, json.Unmarshal(r.Data, &data))
	var urls []string
	for _, a := range data.Active {
		urls = append(urls, a.URL)
	}
	return urls
}

// getEncoded fetches path asking for the given encodings and returns the
// response and its decoded body.
func (ts *testServer) getEncoded(path, acceptEncoding string) (*http.Response, string) {
	ts.t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.Base+path, nil)
	require.NoError(ts.t, err)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	resp, err := ts.Client.Do(req)
	require.NoError(ts.t, err)
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	switch resp.Header.Get("Content-Encoding") {
	case "gzip":
		gz, err := gzip.NewReader(resp.Body)
		require.NoError(ts.t, err)
		r = gz
	case "deflate":
		zr, err := zlib.NewReader(resp.Body)
		require.NoError(ts.t, err)
		r = zr
	}
	b, err := io.ReadAll(r)
	require.NoError(ts.t, err)
	return resp, string(b)
}

func (ts *testServer) remoteWrite(body []byte) {
	ts.t.Helper()
	resp, b := ts.postBody("/api/v1/write", body, map[string]string{
		"Content-Type": rw1ContentType, "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "0.1.0",
	})
	require.Equal(ts.t, http.StatusNoContent, resp.StatusCode, b)
}

// queryRangeSeries returns the label sets a range query answers with.
func (ts *testServer) queryRangeSeries(q string, start, end time.Time, step time.Duration) []map[string]string {
	ts.t.Helper()
	v := url.Values{"query": {q}, "start": {fmt.Sprint(start.Unix())}, "end": {fmt.Sprint(end.Unix())}, "step": {step.String()}}
	code, r := ts.api("/api/v1/query_range?" + v.Encode())
	require.Equal(ts.t, http.StatusOK, code, r.Error)
	var data struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
		} `json:"result"`
	}
	require.NoError(ts.t, json.Unmarshal(r.Data, &data))
	var out []map[string]string
	for _, s := range data.Result {
		out = append(out, s.Metric)
	}
	return out
}

// metricValue reads one of the server's self-metrics (metricValue).
func (ts *testServer) metricValue(name string, labels map[string]string) float64 {
	ts.t.Helper()
	v, err := metricValue(ts.Registry(), name, labels)
	require.NoError(ts.t, err)
	return v
}

// rawTimestamps returns the timestamps (ms) of the samples miniprom holds
// for the one series matching selector over the last window.
func (ts *testServer) rawTimestamps(selector string, window time.Duration) []int64 {
	ts.t.Helper()
	q := fmt.Sprintf("%s[%ds]", selector, int(window.Seconds()))
	code, r := ts.api("/api/v1/query?query=" + url.QueryEscape(q))
	require.Equal(ts.t, http.StatusOK, code, r.Error)
	var data struct {
		Result []struct {
			Values [][2]any `json:"values"`
		} `json:"result"`
	}
	require.NoError(ts.t, json.Unmarshal(r.Data, &data))
	require.LessOrEqual(ts.t, len(data.Result), 1, selector)
	var out []int64
	for _, r := range data.Result {
		for _, v := range r.Values {
			out = append(out, int64(math.Round(v[0].(float64)*1000)))
		}
	}
	return out
}

// post posts nothing to base+path and returns the status code and body.
func (ts *testServer) post(path string) (int, string) {
	ts.t.Helper()
	code, body, err := fetch(ts.Client, http.MethodPost, ts.Base+path)
	require.NoError(ts.t, err)
	return code, body
}

// postBody sends body to path with the given headers.
func (ts *testServer) postBody(path string, body []byte, headers map[string]string) (*http.Response, string) {
	ts.t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.Base+path, bytes.NewReader(body))
	require.NoError(ts.t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := ts.Client.Do(req)
	require.NoError(ts.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(ts.t, err)
	return resp, string(b)
}

// queryVector runs an instant query and returns the result's series.
func (ts *testServer) queryVector(q string) []struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
} {
	ts.t.Helper()
	code, r := ts.api("/api/v1/query?query=" + url.QueryEscape(q))
	require.Equal(ts.t, http.StatusOK, code, r.Error)
	var data struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	require.NoError(ts.t, json.Unmarshal(r.Data, &data))
	return data.Result
}

func (ts *testServer) rules(query string) rulesAPI {
	ts.t.Helper()
	code, r := ts.api("/api/v1/rules" + query)
	require.Equal(ts.t, http.StatusOK, code, r.Error)
	var out rulesAPI
	require.NoError(ts.t, json.Unmarshal(r.Data, &out))
	return out
}
