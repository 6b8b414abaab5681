package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/miniprom/miniprom/pkg/devcert"
)

// alertmanager is a real Alertmanager on loopback, serving HTTPS with its own
// CA and basic auth.
type alertmanager struct {
	*peer
	addr     string
	caPEM    []byte
	client   *http.Client
	user     string
	password string
}

func startAlertmanager(t *testing.T) *alertmanager {
	t.Helper()
	bin := peerBinary(t, "/usr/bin/prometheus-alertmanager", "prometheus-alertmanager")
	dir := t.TempDir()
	ca, err := devcert.NewCA("alertmanager test CA", time.Hour)
	require.NoError(t, err)
	pair, err := ca.Server([]string{"127.0.0.1"}, time.Hour)
	require.NoError(t, err)
	_, _, err = pair.Write(dir, "am")
	require.NoError(t, err)
	hash, err := bcrypt.GenerateFromPassword([]byte("am-s3cret"), bcrypt.MinCost)
	require.NoError(t, err)
	writeFile(t, dir, "web.yml", fmt.Sprintf(`
tls_server_config:
  cert_file: %s
  key_file: %s
basic_auth_users:
  prom: %s
`, filepath.Join(dir, "am.crt"), filepath.Join(dir, "am.key"), hash))
	writeFile(t, dir, "alertmanager.yml", `
route:
  receiver: "null"
  group_wait: 1s
receivers:
  - name: "null"
`)
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	am := &alertmanager{
		addr:     "127.0.0.1:" + freePort(t),
		caPEM:    ca.PEM,
		client:   &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
		user:     "prom",
		password: "am-s3cret",
	}
	am.peer = startPeer(t, "alertmanager", bin, []string{
		"--config.file=" + filepath.Join(dir, "alertmanager.yml"),
		"--storage.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + am.addr,
		"--web.config.file=" + filepath.Join(dir, "web.yml"),
		"--cluster.listen-address=", // no gossip: a single, private peer
		"--log.level=debug",
	}, func() bool {
		code, _ := am.get("/-/ready")
		return code == http.StatusOK
	})
	return am
}

func (am *alertmanager) get(path string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, "https://"+am.addr+path, nil)
	if err != nil {
		return 0, err.Error()
	}
	req.SetBasicAuth(am.user, am.password)
	resp, err := am.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// amAlert is an alert in Alertmanager's v2 API.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	GeneratorURL string            `json:"generatorURL"`
	Status       struct {
		State string `json:"state"`
	} `json:"status"`
}

// alerts returns the alerts Alertmanager holds; nil if it cannot answer.
func (am *alertmanager) alerts() []amAlert {
	code, body := am.get("/api/v2/alerts")
	if code != http.StatusOK {
		return nil
	}
	var alerts []amAlert
	if json.Unmarshal([]byte(body), &alerts) != nil {
		return nil
	}
	return alerts
}

const firingRule = `
groups:
  - name: always
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels:
          severity: ticket
        annotations:
          summary: miniprom test alert
`

func TestAlertsReachAlertmanager(t *testing.T) {
	am := startAlertmanager(t)
	// The second Alertmanager entry has the wrong password: its rejections
	// show that basic auth is really sent.
	cfg := selfScrapeConfig + fmt.Sprintf(`
alerting:
  alert_relabel_configs:
    - target_label: sent_by
      replacement: miniprom
  alertmanagers:
    - scheme: https
      tls_config:
        ca_file: am-ca.crt
      basic_auth:
        username: %s
        password: %s
      static_configs:
        - targets: [%q]
    - scheme: https
      path_prefix: /wrong-password
      tls_config:
        ca_file: am-ca.crt
      basic_auth:
        username: %s
        password: nope
      static_configs:
        - targets: [%q]
`, am.user, am.password, am.addr, am.user, am.addr)
	ts := startServer(t, serverConfig{
		prometheusYML: cfg,
		files:         map[string]string{"rules.yml": firingRule, "am-ca.crt": string(am.caPEM)},
	})

	// /api/v1/alertmanagers lists both, with Prometheus's URL form, once
	// discovery has synced.
	want := []string{"https://" + am.addr + "/api/v2/alerts", "https://" + am.addr + "/wrong-password/api/v2/alerts"}
	ts.eventually(func() bool {
		code, r := ts.api("/api/v1/alertmanagers")
		var data struct {
			Active  []struct{ URL string } `json:"activeAlertmanagers"`
			Dropped []struct{ URL string } `json:"droppedAlertmanagers"`
		}
		if code != http.StatusOK || json.Unmarshal(r.Data, &data) != nil || data.Dropped == nil {
			return false
		}
		var got []string
		for _, a := range data.Active {
			got = append(got, a.URL)
		}
		sort.Strings(got)
		return slices.Equal(got, want) && len(data.Dropped) == 0
	}, "/api/v1/alertmanagers never listed both Alertmanagers")

	// Only now add the rule: an alert that fires before any Alertmanager is
	// known is resent only after the one-minute resend delay, as in
	// Prometheus.
	writeFile(t, ts.Dir, "prometheus.yml", cfg+"rule_files: [rules.yml]\n")
	require.NoError(t, ts.Reload(context.Background()))

	var held amAlert
	require.Eventually(t, func() bool {
		for _, a := range am.alerts() {
			if a.Labels["alertname"] == "AlwaysFiring" {
				held = a
				return true
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond, "Alertmanager never received AlwaysFiring")
	require.Equal(t, "active", held.Status.State)
	require.Equal(t, map[string]string{"alertname": "AlwaysFiring", "severity": "ticket", "sent_by": "miniprom"}, held.Labels)
	require.Equal(t, "miniprom test alert", held.Annotations["summary"])
	require.True(t, strings.HasPrefix(held.GeneratorURL, ts.ExternalURL().String()+"/graph?g0.expr="), held.GeneratorURL)

	// The entry with the wrong password is refused, and that is counted.
	wrong := fmt.Sprintf(`prometheus_notifications_errors_total{alertmanager="https://%s/wrong-password/api/v2/alerts"}`, am.addr)
	ts.eventually(func() bool {
		_, body := ts.get("/metrics")
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, wrong+" ") && !strings.HasSuffix(l, " 0") {
				return true
			}
		}
		return false
	}, "alerts to the wrong-password Alertmanager were not counted as errors")
}
