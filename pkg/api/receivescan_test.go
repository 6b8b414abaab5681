package api

import (
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// FuzzScanV1: on every body that unmarshals as a remote write 1.0 request
// and that the scan reads (it gives up on rare encodings, such as groups,
// and checkWriteBody then unmarshals), scanning its wire format finds the
// same first bad series, with the same words, as checking the
// unmarshalled request.
func FuzzScanV1(f *testing.F) {
	add := func(lss ...[]prompb.Label) {
		req := &prompb.WriteRequest{}
		for _, ls := range lss {
			req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: ls, Samples: []prompb.Sample{{Value: 1, Timestamp: 1}}})
		}
		b, err := req.Marshal()
		require.NoError(f, err)
		f.Add(b)
	}
	lb := func(kv ...string) []prompb.Label {
		var ls []prompb.Label
		for i := 0; i < len(kv); i += 2 {
			ls = append(ls, prompb.Label{Name: kv[i], Value: kv[i+1]})
		}
		return ls
	}
	add(lb("__name__", "up", "job", "x"))
	add(lb("__name__", "up", "job", "x"), lb("__name__", "up", "job", "x", "job", "y"))
	add(lb("job", "x", "__name__", "up", "job", "y"))
	add(lb("__name__", "up", "", "x"))
	add(lb("job", "x"))
	add(lb("__name__", "up", "a", "\xff"))
	add(lb("__name__", "up", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "1"))
	l := ReceiverLimits{MaxLabelNameLength: 64, MaxLabelValueLength: 256, MaxLabelsPerSeries: 16}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var req prompb.WriteRequest
		if req.Unmarshal(raw) != nil {
			return
		}
		got, ok := l.scanV1(raw)
		if !ok {
			return
		}
		require.Equal(t, fmt.Sprint(l.checkV1(&req)), fmt.Sprint(got))
	})
}
