package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

func TestFederate(t *testing.T) {
	ts := startServer(t, serverConfig{prometheusYML: strings.Replace(selfScrapeConfig, "global:\n",
		"global:\n  external_labels:\n    site: test\n", 1)})
	ts.waitForSelfScrape()

	req, err := http.NewRequest(http.MethodGet, ts.Base+`/federate?match[]=up&match[]={__name__="prometheus_ready"}`, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/plain")
	resp, err := ts.Client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	require.Len(t, families, 2)
	up := families["up"]
	require.NotNil(t, up)
	require.Len(t, up.Metric, 1)
	labels := map[string]string{}
	for _, l := range up.Metric[0].Label {
		labels[l.GetName()] = l.GetValue()
	}
	// External labels are attached, as Prometheus does.
	require.Equal(t, map[string]string{"instance": ts.Addr().String(), "job": "miniprom", "site": "test"}, labels)
	require.Equal(t, 1.0, up.Metric[0].GetUntyped().GetValue())
	require.NotZero(t, up.Metric[0].GetTimestampMs())

	code, body := ts.get("/federate?match[]=up{")
	require.Equal(t, http.StatusBadRequest, code, body)
}
