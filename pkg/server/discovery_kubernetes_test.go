//go:build kubernetes

package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// fakeKubernetes is a stand-in for the API server calls the pod role's
// informer makes: list pods, then watch them. It serves one running pod
// whose IP and container port are the exporter's. A watch that asks for the
// initial events (client-go's watch-list) gets the pod and the bookmark
// ending them; any other watch stays open with no events.
func fakeKubernetes(t *testing.T, port int) string {
	t.Helper()
	pod := fmt.Sprintf(`{"kind":"Pod","apiVersion":"v1",
		"metadata":{"name":"app-0","namespace":"default","uid":"u1","resourceVersion":"1",
			"labels":{"app":"demo"},"annotations":{"prometheus.io/scrape":"true"}},
		"spec":{"nodeName":"node-1","containers":[{"name":"app","ports":[{"name":"metrics","containerPort":%d,"protocol":"TCP"}]}]},
		"status":{"phase":"Running","podIP":"127.0.0.1","hostIP":"127.0.0.1","conditions":[{"type":"Ready","status":"True"}]}}`, port)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/pods" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("watch") != "true" {
			fmt.Fprintf(w, `{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[%s]}`, pod)
			return
		}
		w.WriteHeader(http.StatusOK)
		if r.URL.Query().Get("sendInitialEvents") == "true" {
			fmt.Fprintf(w, `{"type":"ADDED","object":%s}`+"\n", pod)
			fmt.Fprint(w, `{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"1","annotations":{"k8s.io/initial-events-end":"true"}}}}`+"\n")
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.CloseClientConnections)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestKubernetesDiscovery: kubernetes_sd_configs (role pod) in a scrape job
// and in alerting, through upstream's discoverer and client-go against a
// local API server stand-in; the discovered pod is scraped.
func TestKubernetesDiscovery(t *testing.T) {
	_, port := exporter(t)
	api := fakeKubernetes(t, port)
	ts := startServer(t, serverConfig{
		webConfigYML: "-",
		prometheusYML: fmt.Sprintf(`
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: pods
    kubernetes_sd_configs: [{role: pod, api_server: %q}]
    relabel_configs:
      - {source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape], regex: "true", action: keep}
      - {source_labels: [__meta_kubernetes_pod_name], target_label: pod}
alerting:
  alertmanagers:
    - kubernetes_sd_configs: [{role: pod, api_server: %q}]
`, api, api),
	})
	ts.eventually(func() bool {
		tgs := ts.targetsOf("pods")
		return len(tgs) == 1 && tgs[0].Health == "up"
	}, "pod never scraped")
	tg := ts.targetsOf("pods")[0]
	assert.Equal(t, "127.0.0.1:"+strconv.Itoa(port), tg.Labels["instance"])
	assert.Equal(t, "app-0", tg.Labels["pod"])
	assert.Equal(t, "default", tg.DiscoveredLabels["__meta_kubernetes_namespace"])
	ts.eventually(func() bool {
		am := ts.activeAlertmanagers()
		return len(am) == 1 && am[0] == "http://127.0.0.1:"+strconv.Itoa(port)+"/api/v2/alerts"
	}, "alertmanager never discovered through kubernetes_sd_configs")
}
