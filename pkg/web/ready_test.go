package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/miniprom/miniprom/pkg/web"
)

func TestReadiness(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := web.NewReadiness(reg)
	h := r.Wrap(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	serve := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest(http.MethodGet, "/-/ready", nil))
		return rec
	}
	for _, step := range []struct {
		name     string
		set      func()
		code     int
		stopping string
		gauge    float64
	}{
		{"starting", func() {}, http.StatusServiceUnavailable, "false", 0},
		{"ready", r.SetReady, http.StatusOK, "", 1},
		{"stopping", r.SetStopping, http.StatusServiceUnavailable, "true", 0},
	} {
		step.set()
		rec := serve()
		require.Equal(t, step.code, rec.Code, step.name)
		require.Equal(t, step.stopping, rec.Header().Get("X-Prometheus-Stopping"), step.name)
		want := fmt.Sprintf("# HELP prometheus_ready Whether Prometheus startup was fully completed and the server is ready for normal operation.\n# TYPE prometheus_ready gauge\nprometheus_ready %v\n", step.gauge)
		require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want), "prometheus_ready"), step.name)
	}
}
