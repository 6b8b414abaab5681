package api

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
	"github.com/stretchr/testify/require"
)

func TestCheckSeries(t *testing.T) {
	l := ReceiverLimits{MaxLabelNameLength: 8, MaxLabelValueLength: 8, MaxLabelsPerSeries: 3}
	for _, tc := range []struct {
		name string
		kv   []string
		want string // "" means valid
	}{
		{"valid", []string{"__name__", "up", "job", "x"}, ""},
		{"utf-8 names are valid", []string{"__name__", "ü.é", "jöb", "x"}, ""},
		{"too many labels", []string{"__name__", "up", "a", "1", "b", "2", "c", "3"}, "max-labels-per-series"},
		{"long name", []string{"__name__", "up", "abcdefghi", "1"}, "max-label-name-length"},
		{"long value", []string{"__name__", "up", "a", "123456789"}, "max-label-value-length"},
		{"no name", []string{"job", "x"}, "no metric name"},
		{"empty name", []string{"__name__", ""}, "no metric name"},
		{"empty label name", []string{"__name__", "up", "", "x"}, "empty label name"},
		{"duplicate", []string{"__name__", "up", "a", "1", "a", "1"}, "duplicate label name"},
		{"bad utf-8 name", []string{"__name__", "up", "\xff", "1"}, "not valid UTF-8"},
		{"bad utf-8 value", []string{"__name__", "\xff"}, "not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var names, values []string
			for i := 0; i < len(tc.kv); i += 2 {
				names, values = append(names, tc.kv[i]), append(values, tc.kv[i+1])
			}
			err := l.checkSeries(names, values)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// FuzzRemoteWriteCheck: the receiver's check never panics on any body, and
// what it lets through has labels upstream can encode.
func FuzzRemoteWriteCheck(f *testing.F) {
	v1, err := (&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "up"}, {Name: "job", Value: "x"}},
		Samples: []prompb.Sample{{Value: 1, Timestamp: 1}},
	}}}).Marshal()
	require.NoError(f, err)
	v2, err := (&writev2.Request{
		Symbols:    []string{"", "__name__", "up", "job", "x"},
		Timeseries: []writev2.TimeSeries{{LabelsRefs: []uint32{1, 2, 3, 4}, Samples: []writev2.Sample{{Value: 1, Timestamp: 1}}}},
	}).Marshal()
	require.NoError(f, err)
	f.Add(snappy.Encode(nil, v1), false)
	f.Add(snappy.Encode(nil, v2), true)
	f.Add([]byte("not snappy"), false)
	l := ReceiverLimits{MaxLabelNameLength: 64, MaxLabelValueLength: 256, MaxLabelsPerSeries: 16}
	f.Fuzz(func(t *testing.T, body []byte, isV2 bool) {
		ct := "application/x-protobuf"
		if isV2 {
			ct += ";proto=io.prometheus.write.v2.Request"
		}
		if err := l.checkWriteBody(ct, body); err != nil && !strings.Contains(err.Error(), "series") && !strings.Contains(err.Error(), "too large") {
			t.Fatalf("error without the series named: %v", err)
		}
	})
}

// FuzzOTLPCheck: decoding and checking any OTLP body, protobuf or JSON,
// never panics.
func FuzzOTLPCheck(f *testing.F) {
	f.Add([]byte(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"up","gauge":{"dataPoints":[{"asDouble":1,"attributes":[{"key":"a","value":{"stringValue":"b"}}]}]}}]}]}]}`), false)
	f.Add([]byte(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"","sum":{"dataPoints":[{"asInt":"1"}]}}]}]}]}`), false)
	f.Add([]byte{0x0a, 0x00}, true)
	l := ReceiverLimits{MaxLabelNameLength: 64, MaxLabelValueLength: 256, MaxLabelsPerSeries: 16}
	f.Fuzz(func(t *testing.T, body []byte, proto bool) {
		ct := "application/json"
		if proto {
			ct = "application/x-protobuf"
		}
		r := httptest.NewRequest(http.MethodPost, "/api/v1/otlp/v1/metrics", bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		h := l.checkOTLP(func(w http.ResponseWriter, r *http.Request) {
			got, err := io.ReadAll(r.Body)
			require.NoError(t, err)
			require.Equal(t, body, got, "upstream gets the body as it came")
		})
		h(httptest.NewRecorder(), r)
	})
}
