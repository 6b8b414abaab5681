package api

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/prometheus/prometheus/prompb"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/golang/snappy"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// ReceiverLimits bound what one series sent to the remote write receiver
// may carry. Upstream has none: a 16 MiB label value panics its label
// encoder, and a series with a million labels is stored.
type ReceiverLimits struct {
	// MaxLabelNameLength bounds a label name in bytes
	// (--web.remote-write-receiver.max-label-name-length).
	MaxLabelNameLength int
	// MaxLabelValueLength bounds a label value in bytes
	// (--web.remote-write-receiver.max-label-value-length).
	MaxLabelValueLength int
	// MaxLabelsPerSeries bounds a series' labels, its name included
	// (--web.remote-write-receiver.max-labels-per-series).
	MaxLabelsPerSeries int
}

// DefaultReceiverLimits are on unless a flag changes them: Mimir's name
// length and well above what exporters send otherwise.
func DefaultReceiverLimits() ReceiverLimits {
	return ReceiverLimits{MaxLabelNameLength: 1024, MaxLabelValueLength: 64 << 10, MaxLabelsPerSeries: 256}
}

// maxDecodedWriteBytes bounds a remote write body once decompressed.
const maxDecodedWriteBytes = 256 << 20

// checkRemoteWrite decodes a remote write request ahead of upstream's
// handler and answers 400 naming the first invalid series, so that nothing
// is dropped behind a 2xx and no label reaches upstream's encoder too large.
// A valid request goes on to upstream with its body as it came.
func (l ReceiverLimits) checkRemoteWrite(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Encoding") != "" && r.Header.Get("Content-Encoding") != "snappy" {
			next(w, r) // Upstream answers unsupported encodings.
			return
		}
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := l.checkWriteBody(r.Header.Get("Content-Type"), body); err != nil {
			status := http.StatusBadRequest
			if errors.Is(err, errTooLarge) {
				status = http.StatusRequestEntityTooLarge
			}
			http.Error(w, err.Error(), status)
			return
		}
		next(w, r)
	}
}

var errTooLarge = errors.New("too large")

// readBody reads a receiver's request body whole, answering for itself
// when it cannot: 413 past the server's body limit, 400 otherwise.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("request body larger than %d bytes", mbe.Limit), http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "read request body: "+err.Error(), http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

// checkWriteBody validates a snappy-compressed remote write 1.0 or 2.0
// request. A body that does not decode is left to upstream, which answers
// it in its own words.
func (l ReceiverLimits) checkWriteBody(contentType string, body []byte) error {
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return nil
	}
	if n > maxDecodedWriteBytes {
		return fmt.Errorf("%w: decompressed request body of %d bytes, more than %d", errTooLarge, n, maxDecodedWriteBytes)
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return nil
	}
	_, params, _ := mime.ParseMediaType(contentType)
	if strings.HasSuffix(params["proto"], "write.v2.Request") {
		var req writev2.Request
		if req.Unmarshal(raw) != nil {
			return nil
		}
		return l.checkV2(&req)
	}
	if err, ok := l.scanV1(raw); ok {
		return err
	}
	var req prompb.WriteRequest
	if req.Unmarshal(raw) != nil {
		return nil
	}
	return l.checkV1(&req)
}

func (l ReceiverLimits) checkV1(req *prompb.WriteRequest) error {
	names, values := []string{}, []string{}
	for i, ts := range req.Timeseries {
		names, values = names[:0], values[:0]
		for _, lb := range ts.Labels {
			names = append(names, lb.Name)
			values = append(values, lb.Value)
		}
		if err := l.checkSeries(names, values); err != nil {
			return fmt.Errorf("series %d %s: %w", i, describe(names, values), err)
		}
	}
	return nil
}

func (l ReceiverLimits) checkV2(req *writev2.Request) error {
	names, values := []string{}, []string{}
	for i, ts := range req.Timeseries {
		if len(ts.LabelsRefs)%2 != 0 {
			return fmt.Errorf("series %d: odd number of label references", i)
		}
		names, values = names[:0], values[:0]
		for j := 0; j < len(ts.LabelsRefs); j += 2 {
			n, v := ts.LabelsRefs[j], ts.LabelsRefs[j+1]
			if int(n) >= len(req.Symbols) || int(v) >= len(req.Symbols) {
				return fmt.Errorf("series %d: label reference out of the %d symbols", i, len(req.Symbols))
			}
			names = append(names, req.Symbols[n])
			values = append(values, req.Symbols[v])
		}
		if err := l.checkSeries(names, values); err != nil {
			return fmt.Errorf("series %d %s: %w", i, describe(names, values), err)
		}
	}
	return nil
}

// checkSeries applies the limits and the rules upstream otherwise enforces
// by dropping the series: a metric name, valid UTF-8, no duplicate names.
func (l ReceiverLimits) checkSeries(names, values []string) error {
	if err := l.checkLabels(names, values); err != nil {
		return err
	}
	sorted := slices.Clone(names)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return fmt.Errorf("duplicate label name %q", short(sorted[i]))
		}
	}
	return nil
}

// checkLabels is checkSeries but for duplicate names.
func (l ReceiverLimits) checkLabels(names, values []string) error {
	if l.MaxLabelsPerSeries > 0 && len(names) > l.MaxLabelsPerSeries {
		return fmt.Errorf("%d labels, more than the %d allowed (--web.remote-write-receiver.max-labels-per-series)", len(names), l.MaxLabelsPerSeries)
	}
	hasName := false
	for i, n := range names {
		v := values[i]
		switch {
		case n == "":
			return errors.New("empty label name")
		case l.MaxLabelNameLength > 0 && len(n) > l.MaxLabelNameLength:
			return fmt.Errorf("label name of %d bytes, more than the %d allowed (--web.remote-write-receiver.max-label-name-length)", len(n), l.MaxLabelNameLength)
		case l.MaxLabelValueLength > 0 && len(v) > l.MaxLabelValueLength:
			return fmt.Errorf("label %q has a value of %d bytes, more than the %d allowed (--web.remote-write-receiver.max-label-value-length)", short(n), len(v), l.MaxLabelValueLength)
		case !utf8.ValidString(n):
			return fmt.Errorf("label name %q is not valid UTF-8", short(n))
		case !utf8.ValidString(v):
			return fmt.Errorf("value of label %q is not valid UTF-8", short(n))
		case n == "__name__":
			hasName = v != ""
		}
	}
	if !hasName {
		return errors.New("no metric name (__name__)")
	}
	return nil
}

// describe names a series in an error, shortened so that an error about a
// huge series stays small.
func describe(names, values []string) string {
	var b strings.Builder
	b.WriteString("{")
	for i, n := range names {
		if i == 8 {
			fmt.Fprintf(&b, ", ... %d more", len(names)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%q", short(n), short(values[i]))
	}
	b.WriteString("}")
	return b.String()
}

func short(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "..."
}
