package server_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/common/promslog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/server"
)

// exporter is an httptest target serving one metric, and its port.
func exporter(t *testing.T) (*httptest.Server, int) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "discovered_metric 1")
	}))
	t.Cleanup(srv.Close)
	return srv, srv.Listener.Addr().(*net.TCPAddr).Port
}

// fakeDocker serves the Docker Engine API calls docker_sd makes (/_ping,
// /containers/json, /networks), and /services for dockerswarm_sd's services
// role, on a unix socket: one running container and one swarm service,
// both at the exporter's address.
func fakeDocker(t *testing.T, dir string, port int) string {
	t.Helper()
	sock := filepath.Join(dir, "docker.sock")
	l, err := net.Listen("unix", sock)
	require.NoError(t, err)
	version := regexp.MustCompile(`^/v[0-9.]+`)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.44")
		w.Header().Set("Content-Type", "application/json")
		switch version.ReplaceAllString(r.URL.Path, "") {
		case "/_ping":
			fmt.Fprint(w, "OK")
		case "/containers/json":
			fmt.Fprintf(w, `[{"Id":"c0ffee","Names":["/app_1"],"Image":"app","State":"running",
				"Labels":{"prometheus-job":"app"},
				"Ports":[{"PrivatePort":%d,"Type":"tcp"}],
				"HostConfig":{"NetworkMode":"appnet"},
				"NetworkSettings":{"Networks":{"appnet":{"NetworkID":"n1","IPAddress":"127.0.0.1"}}}}]`, port)
		case "/networks":
			fmt.Fprint(w, `[{"Name":"appnet","Id":"n1","Scope":"local","Driver":"bridge","Labels":{}}]`)
		case "/services": // Docker Swarm, role services
			fmt.Fprintf(w, `[{"ID":"s1","Spec":{"Name":"app","Labels":{"prometheus-job":"app"},"Mode":{"Replicated":{"Replicas":1}}},
				"Endpoint":{"Ports":[{"Protocol":"tcp","TargetPort":%d,"PublishedPort":%d,"PublishMode":"ingress"}],
					"VirtualIPs":[{"NetworkID":"n1","Addr":"127.0.0.1/32"}]}}]`, port, port)
		default:
			http.NotFound(w, r)
		}
	}))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return "unix://" + sock
}

type activeTarget struct {
	Labels           map[string]string `json:"labels"`
	DiscoveredLabels map[string]string `json:"discoveredLabels"`
	ScrapePool       string            `json:"scrapePool"`
	Health           string            `json:"health"`
}

// TestDockerDiscovery: docker_sd_configs and dockerswarm_sd_configs, in
// scrape jobs and in alerting, through upstream's discoverers against a fake
// Docker Engine API on a unix socket; the discovered container and swarm
// service are scraped.
func TestDockerDiscovery(t *testing.T) {
	dir := t.TempDir()
	_, port := exporter(t)
	host := fakeDocker(t, dir, port)
	ts := startServer(t, serverConfig{
		webConfigYML: "-",
		prometheusYML: fmt.Sprintf(`
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: docker
    docker_sd_configs: [{host: %q, refresh_interval: 1s}]
    relabel_configs:
      - {source_labels: [__meta_docker_container_label_prometheus_job], target_label: app}
  - job_name: swarm
    dockerswarm_sd_configs: [{host: %q, role: services, refresh_interval: 1s}]
alerting:
  alertmanagers:
    - docker_sd_configs: [{host: %q, refresh_interval: 1s}]
`, host, host, host),
	})
	ts.eventually(func() bool {
		tgs := ts.targetsOf("swarm")
		return len(tgs) == 1 && tgs[0].Health == "up"
	}, "swarm service never scraped")
	assert.Equal(t, "app", ts.targetsOf("swarm")[0].DiscoveredLabels["__meta_dockerswarm_service_name"])
	ts.eventually(func() bool {
		tgs := ts.targetsOf("docker")
		return len(tgs) == 1 && tgs[0].Health == "up"
	}, "docker container never scraped")
	tg := ts.targetsOf("docker")[0]
	assert.Equal(t, "127.0.0.1:"+strconv.Itoa(port), tg.Labels["instance"])
	assert.Equal(t, "app", tg.Labels["app"])
	assert.Equal(t, "/app_1", tg.DiscoveredLabels["__meta_docker_container_name"])
	ts.eventually(func() bool {
		return slices.Equal(ts.activeAlertmanagers(), []string{"http://127.0.0.1:" + strconv.Itoa(port) + "/api/v2/alerts"})
	}, "alertmanager never discovered through docker_sd_configs")
}

// TestUnknownDiscoveryIsRefused: a discovery kind not built in stops the
// start with a message naming it and the kinds that are built in.
func TestUnknownDiscoveryIsRefused(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("scrape_configs:\n  - job_name: ec2\n    ec2_sd_configs: [{region: eu-west-1}]\n"), 0o600))
	o := server.DefaultOptions()
	o.Logger, o.ConfigFile, o.ListenAddresses = promslog.NewNopLogger(), cfg, []string{"127.0.0.1:0"}
	_, err := server.New(o)
	require.Error(t, err)
	for _, want := range []string{"ec2_sd_configs is not built into miniprom", "consul_sd_configs", "dns_sd_configs", "docker_sd_configs", "dockerswarm_sd_configs", "file_sd_configs", "http_sd_configs", "static_configs"} {
		require.ErrorContains(t, err, want)
	}
}

// TestDNSDiscovery: dns_sd_configs (SRV in a scrape job, A in alerting)
// through upstream's discoverer against a DNS server run by the test.
// Upstream reads the name servers from /etc/resolv.conf, port 53 only, so
// the test re-runs itself in a private mount namespace with its own
// resolv.conf pointing at 127.0.0.77; that needs root and unshare(1).
func TestDNSDiscovery(t *testing.T) {
	if os.Getenv("MINIPROM_DNS_TEST_NS") == "" {
		if os.Geteuid() != 0 {
			t.Skip("needs root for a private mount namespace and port 53")
		}
		unshare, err := exec.LookPath("unshare")
		if err != nil {
			t.Skip("needs unshare(1)")
		}
		resolv := filepath.Join(t.TempDir(), "resolv.conf")
		require.NoError(t, os.WriteFile(resolv, []byte("nameserver 127.0.0.77\noptions attempts:1 timeout:1\n"), 0o644))
		self, err := os.Executable()
		require.NoError(t, err)
		cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c",
			`mount --bind "$0" /etc/resolv.conf && exec "$1" -test.run '^TestDNSDiscovery$' -test.v`, resolv, self)
		cmd.Env = append(os.Environ(), "MINIPROM_DNS_TEST_NS=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Contains(t, string(out), "--- PASS: TestDNSDiscovery")
		return
	}

	_, port := exporter(t)
	mux := dns.NewServeMux()
	mux.HandleFunc("example.test.", func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.Authoritative = true
		for _, question := range q.Question {
			var rr string
			switch {
			case question.Qtype == dns.TypeSRV && question.Name == "_metrics._tcp.example.test.":
				rr = fmt.Sprintf("_metrics._tcp.example.test. 5 IN SRV 0 0 %d target.example.test.", port)
			case question.Qtype == dns.TypeA && (question.Name == "target.example.test." || question.Name == "am.example.test."):
				rr = question.Name + " 5 IN A 127.0.0.1"
			}
			if rr != "" {
				r, err := dns.NewRR(rr)
				if err == nil {
					m.Answer = append(m.Answer, r)
				}
			}
		}
		_ = w.WriteMsg(m)
	})
	started := make(chan struct{})
	srv := &dns.Server{Addr: "127.0.0.77:53", Net: "udp", Handler: mux, NotifyStartedFunc: func() { close(started) }}
	go func() { _ = srv.ListenAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })

	ts := startServer(t, serverConfig{
		webConfigYML: "-",
		prometheusYML: fmt.Sprintf(`
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: dns
    dns_sd_configs: [{names: [_metrics._tcp.example.test], refresh_interval: 1s}]
alerting:
  alertmanagers:
    - dns_sd_configs: [{names: [am.example.test], type: A, port: %d, refresh_interval: 1s}]
`, port),
	})
	ts.eventually(func() bool {
		tgs := ts.targetsOf("dns")
		return len(tgs) == 1 && tgs[0].Health == "up"
	}, "SRV target never scraped")
	tg := ts.targetsOf("dns")[0]
	assert.Equal(t, "target.example.test:"+strconv.Itoa(port), tg.Labels["instance"])
	assert.Equal(t, "_metrics._tcp.example.test", tg.DiscoveredLabels["__meta_dns_name"])
	ts.eventually(func() bool {
		return slices.Equal(ts.activeAlertmanagers(), []string{"http://127.0.0.1:" + strconv.Itoa(port) + "/api/v2/alerts"})
	}, "alertmanager never discovered through dns_sd_configs")
}

// fakeConsul serves the Consul HTTP API calls consul_sd makes (agent self,
// catalog services, service health) with one service, "web", on the
// exporter's port. There is no Consul in Debian; upstream tests the same way.
func fakeConsul(t *testing.T, port int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Consul-Index", "1")
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/agent/self":
			fmt.Fprint(w, `{"Config":{"Datacenter":"dc1"}}`)
		case "/v1/catalog/services":
			fmt.Fprint(w, `{"web":["metrics"],"consul":[]}`)
		case "/v1/health/service/web":
			fmt.Fprintf(w, `[{"Node":{"Node":"node1","Address":"127.0.0.1","Datacenter":"dc1"},
				"Service":{"ID":"web-1","Service":"web","Tags":["metrics"],"Address":"127.0.0.1","Port":%d},
				"Checks":[{"CheckID":"serfHealth","Status":"passing"}]}]`, port)
		case "/v1/health/service/consul":
			fmt.Fprint(w, `[]`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// TestConsulDiscovery: consul_sd_configs in a scrape job and in alerting,
// through upstream's discoverer against a fake Consul API.
func TestConsulDiscovery(t *testing.T) {
	_, port := exporter(t)
	consul := fakeConsul(t, port)
	ts := startServer(t, serverConfig{
		webConfigYML: "-",
		prometheusYML: fmt.Sprintf(`
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: consul
    consul_sd_configs: [{server: %q, tags: [metrics], refresh_interval: 1s}]
alerting:
  alertmanagers:
    - consul_sd_configs: [{server: %q, services: [web], refresh_interval: 1s}]
`, consul, consul),
	})
	ts.eventually(func() bool {
		tgs := ts.targetsOf("consul")
		return len(tgs) == 1 && tgs[0].Health == "up"
	}, "consul service never scraped")
	tg := ts.targetsOf("consul")[0]
	assert.Equal(t, "127.0.0.1:"+strconv.Itoa(port), tg.Labels["instance"])
	assert.Equal(t, "web", tg.DiscoveredLabels["__meta_consul_service"])
	assert.Equal(t, "dc1", tg.DiscoveredLabels["__meta_consul_dc"])
	ts.eventually(func() bool {
		return slices.Equal(ts.activeAlertmanagers(), []string{"http://127.0.0.1:" + strconv.Itoa(port) + "/api/v2/alerts"})
	}, "alertmanager never discovered through consul_sd_configs")
}
