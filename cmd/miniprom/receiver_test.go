package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"
)

func series(kv ...string) prompb.TimeSeries {
	ts := prompb.TimeSeries{Samples: []prompb.Sample{{Value: 1, Timestamp: 1}}}
	for i := 0; i < len(kv); i += 2 {
		ts.Labels = append(ts.Labels, prompb.Label{Name: kv[i], Value: kv[i+1]})
	}
	return ts
}

func postWrite(t *testing.T, base, contentType string, msg interface{ Marshal() ([]byte, error) }) (int, string) {
	t.Helper()
	raw, err := msg.Marshal()
	require.NoError(t, err)
	code, body, err := fetch(http.MethodPost, base+"/api/v1/write", bytes.NewReader(snappy.Encode(nil, raw)), map[string]string{
		"Content-Type":                      contentType,
		"Content-Encoding":                  "snappy",
		"X-Prometheus-Remote-Write-Version": "0.1.0",
	})
	require.NoError(t, err)
	return code, body
}

// TestRemoteWriteLimitsProcess: series a real miniprom's remote write
// receiver must refuse answer 400 naming the series and the rule or limit,
// and nothing of the request is stored. Prometheus 3.16: a 16 MiB label
// value panics the handler (the client gets EOF), a million labels are
// stored, and invalid series are dropped behind a 204.
func TestRemoteWriteLimitsProcess(t *testing.T) {
	p := startProc(t, "--web.enable-remote-write-receiver")
	const v1 = "application/x-protobuf"
	manyLabels := series("__name__", "many")
	for i := range 1_000_000 {
		manyLabels.Labels = append(manyLabels.Labels, prompb.Label{Name: fmt.Sprintf("l%07d", i), Value: "v"})
	}
	for i, tc := range []struct {
		name string
		bad  prompb.TimeSeries
		want string
	}{
		{"16 MiB label value", series("__name__", "big", "v", strings.Repeat("x", 16<<20)), "--web.remote-write-receiver.max-label-value-length"},
		{"long label name", series("__name__", "long", strings.Repeat("n", 2000), "v"), "--web.remote-write-receiver.max-label-name-length"},
		{"a million labels", manyLabels, "--web.remote-write-receiver.max-labels-per-series"},
		{"duplicate labels", series("__name__", "dup", "a", "1", "a", "2"), `duplicate label name "a"`},
		{"no name", series("job", "x"), "no metric name"},
		{"empty name", series("__name__", "", "job", "x"), "no metric name"},
		{"empty label name", series("__name__", "e", "", "x"), "empty label name"},
		{"invalid UTF-8", series("__name__", "utf", "a", "\xff\xfe"), "not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			good := series("__name__", fmt.Sprintf("good_%d", i), "job", "x")
			status, body := postWrite(t, p.url, v1, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{good, tc.bad}})
			require.Equal(t, http.StatusBadRequest, status, body)
			require.Contains(t, body, "series 1 ")
			require.Contains(t, body, tc.want)
			require.Less(t, len(body), 2000, "the error stays short")

			// All or nothing: the good series of the refused request is not stored.
			status, answer := postQuery(t, p.url, "/api/v1/series", url.Values{"match[]": {good.Labels[0].Value}, "start": {"0"}})
			require.Equal(t, http.StatusOK, status, answer.Error)
			require.JSONEq(t, "[]", string(answer.Data))
		})
	}

	// Remote write 2.0 is checked too.
	req := &writev2.Request{
		Symbols:    []string{"", "__name__", "dup2", "a", "1", "2"},
		Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{1, 2, 3, 4, 3, 5}, Samples: []writev2.Sample{{Value: 1, Timestamp: 1}}}},
	}
	status, body := postWrite(t, p.url, "application/x-protobuf;proto=io.prometheus.write.v2.Request", req)
	require.Equal(t, http.StatusBadRequest, status, body)
	require.Contains(t, body, `duplicate label name "a"`)

	// A valid request is stored, and the process lived through all of it.
	status, body = postWrite(t, p.url, v1, &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{series("__name__", "fine", "job", "x")}})
	require.Equal(t, http.StatusNoContent, status, body)
	require.False(t, p.exited())
}

// otlpGauge is an OTLP/JSON request with one gauge data point.
func otlpGauge(name, attrKey, attrValue string) string {
	return fmt.Sprintf(`{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
"scopeMetrics":[{"metrics":[{"name":%q,"gauge":{"dataPoints":[{"asDouble":1,"timeUnixNano":"%d000000000",
"attributes":[{"key":%q,"value":{"stringValue":%q}}]}]}}]}]}]}`, name, time.Now().Unix(), attrKey, attrValue)
}

// TestOTLPClientErrorsProcess: what the sender got wrong answers 4xx from a
// real miniprom's OTLP receiver (Prometheus 3.16: 500 for a metric without
// a name, which a sender retries).
func TestOTLPClientErrorsProcess(t *testing.T) {
	p := startProc(t, "--web.enable-otlp-receiver")
	post := func(body string) (int, string) {
		resp, err := http.Post(p.url+"/api/v1/otlp/v1/metrics", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"no metric name", otlpGauge("", "a", "b"), "no metric name"},
		{"16 MiB attribute value", otlpGauge("big", "a", strings.Repeat("x", 16<<20)), "--web.remote-write-receiver.max-label-value-length"},
		{"long attribute name", otlpGauge("long", strings.Repeat("n", 2000), "b"), "--web.remote-write-receiver.max-label-name-length"},
		{"not JSON", "{", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(tc.body)
			require.Equal(t, http.StatusBadRequest, status, body)
			require.Contains(t, body, tc.want)
		})
	}
	status, body := post(otlpGauge("fine", "a", "b"))
	require.Equal(t, http.StatusOK, status, body)
	require.False(t, p.exited())
}
