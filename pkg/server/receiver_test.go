package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/golang/snappy"
	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/miniprom/miniprom/pkg/server"
)

const (
	rw1ContentType = "application/x-protobuf"
	rw2ContentType = "application/x-protobuf;proto=io.prometheus.write.v2.Request"
)

func rw1Body(t *testing.T, name string, ts int64, v float64) []byte {
	t.Helper()
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: name}, {Name: "source", Value: "rw1"}},
		Samples: []prompb.Sample{{Value: v, Timestamp: ts}},
	}}}
	b, err := req.Marshal()
	require.NoError(t, err)
	return snappy.Encode(nil, b)
}

func rw2Body(t *testing.T, name string, ts int64, v float64) []byte {
	t.Helper()
	st := writev2.NewSymbolTable()
	req := &writev2.Request{Timeseries: []writev2.TimeSeries{{
		LabelsRefs: st.SymbolizeLabels(labels.FromStrings("__name__", name, "source", "rw2"), nil),
		Samples:    []writev2.Sample{{Value: v, Timestamp: ts}},
		Exemplars: []writev2.Exemplar{{
			LabelsRefs: st.SymbolizeLabels(labels.FromStrings("trace_id", "abc123"), nil),
			Value:      v, Timestamp: ts,
		}},
		Metadata: writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_GAUGE, HelpRef: st.Symbolize("A test gauge.")},
	}}}
	req.Symbols = st.Symbols()
	b, err := req.Marshal()
	require.NoError(t, err)
	return snappy.Encode(nil, b)
}

func otlpBody(t *testing.T, name string, ts time.Time, v float64) []byte {
	t.Helper()
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "otlp-svc")
	rm.Resource().Attributes().PutStr("service.instance.id", "i-1")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	dp.SetDoubleValue(v)
	b, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	require.NoError(t, err)
	return b
}

func TestReceiversOffByDefault(t *testing.T) {
	ts := startServer(t, serverConfig{prometheusYML: "global: {}\n"})
	now := time.Now().UnixMilli()
	for _, tc := range []struct{ path, body, want string }{
		{"/api/v1/write", string(rw1Body(t, "m", now, 1)), "remote write receiver needs to be enabled with --web.enable-remote-write-receiver\n"},
		{"/api/v1/otlp/v1/metrics", string(otlpBody(t, "m", time.Now(), 1)), "otlp write receiver needs to be enabled with --web.enable-otlp-receiver\n"},
	} {
		resp, body := ts.postBody(tc.path, []byte(tc.body), map[string]string{"Content-Type": rw1ContentType})
		require.Equal(t, http.StatusNotFound, resp.StatusCode, tc.path)
		require.Equal(t, tc.want, body, tc.path)
	}
}

func TestRemoteWriteReceiver(t *testing.T) {
	ts := startServer(t, serverConfig{
		prometheusYML: "global: {}\nstorage:\n  exemplars:\n    max_exemplars: 1000\n",
		options:       func(o *server.Options) { o.EnableRemoteWriteReceiver = true },
	})
	now := time.Now().UnixMilli()

	t.Run("remote write 1.0", func(t *testing.T) {
		resp, body := ts.postBody("/api/v1/write", rw1Body(t, "rw1_metric", now, 11), map[string]string{
			"Content-Type": rw1ContentType, "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "0.1.0",
		})
		require.Equal(t, http.StatusNoContent, resp.StatusCode, body)
		got := ts.queryVector("rw1_metric")
		require.Len(t, got, 1)
		require.Equal(t, map[string]string{"__name__": "rw1_metric", "source": "rw1"}, got[0].Metric)
		require.Equal(t, "11", got[0].Value[1])
	})

	t.Run("remote write 2.0 with exemplar and metadata", func(t *testing.T) {
		resp, body := ts.postBody("/api/v1/write", rw2Body(t, "rw2_metric", now, 22), map[string]string{
			"Content-Type": rw2ContentType, "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "2.0.0",
		})
		require.Equal(t, http.StatusNoContent, resp.StatusCode, body)
		require.Equal(t, "1", resp.Header.Get("X-Prometheus-Remote-Write-Samples-Written"))
		require.Equal(t, "1", resp.Header.Get("X-Prometheus-Remote-Write-Exemplars-Written"))
		got := ts.queryVector("rw2_metric")
		require.Len(t, got, 1)
		require.Equal(t, "22", got[0].Value[1])

		// The exemplar is stored and answered by /api/v1/query_exemplars.
		q := url.Values{"query": {"rw2_metric"}, "start": {fmt.Sprint(now/1000 - 60)}, "end": {fmt.Sprint(now/1000 + 60)}}
		code, r := ts.api("/api/v1/query_exemplars?" + q.Encode())
		require.Equal(t, http.StatusOK, code, r.Error)
		var ex []struct {
			SeriesLabels map[string]string `json:"seriesLabels"`
			Exemplars    []struct {
				Labels map[string]string `json:"labels"`
				Value  string            `json:"value"`
			} `json:"exemplars"`
		}
		require.NoError(t, json.Unmarshal(r.Data, &ex))
		require.Len(t, ex, 1)
		require.Equal(t, map[string]string{"__name__": "rw2_metric", "source": "rw2"}, ex[0].SeriesLabels)
		require.Len(t, ex[0].Exemplars, 1)
		require.Equal(t, map[string]string{"trace_id": "abc123"}, ex[0].Exemplars[0].Labels)
		require.Equal(t, "22", ex[0].Exemplars[0].Value)
	})

	for _, tc := range []struct {
		name    string
		body    []byte
		headers map[string]string
		code    int
	}{
		{"unknown protobuf message", rw1Body(t, "m", now, 1), map[string]string{"Content-Type": "application/x-protobuf;proto=bogus.Request"}, http.StatusUnsupportedMediaType},
		{"not snappy encoding", rw1Body(t, "m", now, 1), map[string]string{"Content-Type": rw1ContentType, "Content-Encoding": "gzip"}, http.StatusUnsupportedMediaType},
		{"body not snappy", []byte("not snappy at all"), map[string]string{"Content-Type": rw1ContentType}, http.StatusBadRequest},
		{"body not protobuf", snappy.Encode(nil, []byte("\xff\xff\xff garbage")), map[string]string{"Content-Type": rw1ContentType}, http.StatusBadRequest},
		// rw1_metric already has a sample at now.
		{"out of order sample", rw1Body(t, "rw1_metric", now-60_000, 1), map[string]string{"Content-Type": rw1ContentType}, http.StatusBadRequest},
		{"body over the size limit", bytes.Repeat([]byte{'x'}, 33<<20), map[string]string{"Content-Type": rw1ContentType}, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := ts.postBody("/api/v1/write", tc.body, tc.headers)
			if tc.code == http.StatusRequestEntityTooLarge {
				// The web layer's body limit and the handler's own both
				// refuse it; either way not a retryable 5xx.
				require.Contains(t, []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge}, resp.StatusCode, body)
				return
			}
			require.Equal(t, tc.code, resp.StatusCode, body)
		})
	}
}

func TestRemoteWriteReceiverAcceptedMessages(t *testing.T) {
	ts := startServer(t, serverConfig{
		prometheusYML: "global: {}\n",
		options: func(o *server.Options) {
			o.EnableRemoteWriteReceiver = true
			o.RemoteWriteReceiverMessages = remoteapi.MessageTypes{remoteapi.WriteV1MessageType}
		},
	})
	now := time.Now().UnixMilli()
	resp, body := ts.postBody("/api/v1/write", rw2Body(t, "m", now, 1), map[string]string{"Content-Type": rw2ContentType})
	require.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode)
	require.Contains(t, body, "io.prometheus.write.v2.Request protobuf message is not accepted by this server")
	resp, body = ts.postBody("/api/v1/write", rw1Body(t, "m", now, 1), map[string]string{"Content-Type": rw1ContentType})
	require.Equal(t, http.StatusNoContent, resp.StatusCode, body)
}

func TestOTLPReceiver(t *testing.T) {
	ts := startServer(t, serverConfig{
		prometheusYML: "global: {}\n",
		options:       func(o *server.Options) { o.EnableOTLPReceiver = true },
	})
	resp, body := ts.postBody("/api/v1/otlp/v1/metrics", otlpBody(t, "otlp_test_gauge", time.Now(), 42), map[string]string{"Content-Type": "application/x-protobuf"})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	got := ts.queryVector("otlp_test_gauge")
	require.Len(t, got, 1)
	// Resource attributes become job and instance, as in Prometheus.
	require.Equal(t, map[string]string{"__name__": "otlp_test_gauge", "job": "otlp-svc", "instance": "i-1"}, got[0].Metric)
	require.Equal(t, "42", got[0].Value[1])
	require.Len(t, ts.queryVector(`target_info{job="otlp-svc"}`), 0, "no other resource attributes, so no target_info")

	resp, body = ts.postBody("/api/v1/otlp/v1/metrics", []byte("\xff\xff garbage"), map[string]string{"Content-Type": "application/x-protobuf"})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	// Prometheus 3.16 answers an unsupported content type with 400 (not
	// the 415 of the OTLP spec); miniprom keeps Prometheus's answer.
	resp, body = ts.postBody("/api/v1/otlp/v1/metrics", []byte("{}"), map[string]string{"Content-Type": "text/plain"})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, body)
	require.Contains(t, body, "unsupported content type")
}
