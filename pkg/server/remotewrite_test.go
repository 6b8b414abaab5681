package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/miniprom/miniprom/pkg/server"
)

// remoteWriteTo is a remote_write section for one endpoint. The queue
// retries quickly so outages in tests are short.
func remoteWriteTo(url, caFile, user, password, extra string) string {
	return fmt.Sprintf(`
remote_write:
  - url: %s
    name: peer
    tls_config:
      ca_file: %s
    basic_auth:
      username: %s
      password: %s
    write_relabel_configs:
      - source_labels: [__name__]
        regex: up|scrape_samples_scraped
        action: keep
    queue_config:
      batch_send_deadline: 200ms
      min_backoff: 50ms
      max_backoff: 250ms
%s`, url, caFile, user, password, extra)
}

func TestRemoteWriteToVictoriaMetrics(t *testing.T) {
	vm := startVictoriaMetrics(t)
	ts := startServer(t, serverConfig{
		prometheusYML: strings.Replace(selfScrapeConfig, "global:\n", "global:\n  external_labels:\n    sender: miniprom-a\n", 1) +
			remoteWriteTo("https://"+vm.addr+"/api/v1/write", "vm-ca.crt", vmUser, vmPassword, ""),
		files: map[string]string{"vm-ca.crt": string(vm.caPEM)},
	})
	ts.waitForSelfScrape()
	selector := fmt.Sprintf(`up{job="miniprom",instance=%q}`, ts.Addr().String())
	wantKey := fmt.Sprintf(`{"__name__":"up","instance":%q,"job":"miniprom","sender":"miniprom-a"}`, ts.Addr().String())

	// Samples arrive with the external labels, and only the kept names.
	require.Eventually(t, func() bool {
		got, err := vm.export(`{sender="miniprom-a"}`)
		return err == nil && len(got[wantKey]) > 0
	}, 30*time.Second, 100*time.Millisecond, "up never reached VictoriaMetrics")
	got, err := vm.export(`{sender="miniprom-a"}`)
	require.NoError(t, err)
	for key := range got {
		require.Regexp(t, `"__name__":"(up|scrape_samples_scraped)"`, key, "write_relabel_configs let another series through")
	}

	// Outage: VictoriaMetrics stops while miniprom keeps scraping.
	stopped := time.Now()
	vm.terminate()
	ts.eventually(func() bool {
		n := 0
		for _, ms := range ts.rawTimestamps(selector, 5*time.Minute) {
			if ms > stopped.UnixMilli() {
				n++
			}
		}
		return n >= 5
	}, "miniprom stopped scraping during the outage")
	ts.eventually(func() bool {
		return metricAbove(ts, `prometheus_remote_storage_samples_retried_total{remote_name="peer",url="https://`+vm.addr+`/api/v1/write"}`, 0) ||
			metricAbove(ts, `prometheus_remote_storage_samples_failed_total{remote_name="peer",url="https://`+vm.addr+`/api/v1/write"}`, 0)
	}, "the queue never noticed the outage")

	// Back up: the backlog from the WAL arrives, nothing from the outage is
	// missing.
	vm.restart(vm.ready)
	restarted := time.Now()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		got, err := vm.export(selector)
		if !assert.NoError(c, err) {
			return
		}
		have := map[int64]bool{}
		for _, ms := range got[wantKey] {
			have[ms] = true
		}
		var missing []int64
		for _, ms := range ts.rawTimestamps(selector, 5*time.Minute) {
			if ms >= stopped.Add(-3*time.Second).UnixMilli() && ms <= restarted.UnixMilli() && !have[ms] {
				missing = append(missing, ms)
			}
		}
		assert.Empty(c, missing, "samples from the outage never reached VictoriaMetrics")
	}, 40*time.Second, 100*time.Millisecond)
}

func TestRemoteWriteToMiniprom(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("rw-s3cret"), bcrypt.MinCost)
	require.NoError(t, err)
	receiver := startServer(t, serverConfig{
		prometheusYML: "global:\n  scrape_interval: 1s\n",
		webConfigYML:  defaultWebConfig + fmt.Sprintf("basic_auth_users:\n  writer: %s\n", hash),
		options:       func(o *server.Options) { o.EnableRemoteWriteReceiver = true },
	})
	receiver.Client.Transport = basicAuth{"writer", "rw-s3cret", receiver.Client.Transport}
	receiverURL, err := url.Parse(receiver.Base)
	require.NoError(t, err)

	// A proxy in front of the receiver records the tenant header, as Mimir
	// or Thanos Receive would read it.
	var mu sync.Mutex
	tenants := map[string]bool{}
	pool := x509.NewCertPool()
	pool.AddCert(receiver.CA.Cert)
	proxy := httputil.NewSingleHostReverseProxy(receiverURL)
	proxy.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	front := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tenants[r.Header.Get("X-Scope-OrgID")] = true
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	frontCA := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: front.Certificate().Raw})

	// The sender starts without remote_write: it has no WAL until a reload
	// adds one.
	sender := startServer(t, serverConfig{files: map[string]string{"front-ca.crt": string(frontCA)}})
	sender.waitForSelfScrape()
	writeFile(t, sender.Dir, "prometheus.yml", selfScrapeConfig+remoteWriteTo(front.URL+"/api/v1/write", "front-ca.crt", "writer", "rw-s3cret",
		"    headers:\n      X-Scope-OrgID: tenant-1\n"))
	require.NoError(t, sender.Reload(context.Background()))

	selector := fmt.Sprintf(`up{job="miniprom",instance=%q}`, sender.Addr().String())
	receiver.eventually(func() bool { return len(receiver.queryVector(selector)) == 1 }, "up never reached the receiving miniprom")
	receiver.eventually(func() bool { return len(receiver.queryVector(`scrape_samples_scraped`)) == 1 }, "scrape_samples_scraped never arrived")
	require.Empty(t, receiver.queryVector(`prometheus_build_info`), "write_relabel_configs let another series through")
	mu.Lock()
	require.Equal(t, map[string]bool{"tenant-1": true}, tenants)
	mu.Unlock()
	require.True(t, metricAbove(sender, `prometheus_remote_storage_samples_total{remote_name="peer",url="`+front.URL+`/api/v1/write"}`, 0))

	// Removing remote_write stops the queue.
	writeFile(t, sender.Dir, "prometheus.yml", selfScrapeConfig)
	require.NoError(t, sender.Reload(context.Background()))
	_, body := sender.get("/metrics")
	require.NotContains(t, body, `prometheus_remote_storage_samples_total{remote_name="peer"`)
}

// basicAuth adds credentials to every request.
type basicAuth struct {
	user, password string
	next           http.RoundTripper
}

func (b basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.SetBasicAuth(b.user, b.password)
	return b.next.RoundTrip(r)
}

// metricAbove reports whether the self-metric line for series exceeds min.
func metricAbove(ts *testServer, series string, min float64) bool {
	_, body := ts.get("/metrics")
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil && f > min {
				return true
			}
		}
	}
	return false
}
