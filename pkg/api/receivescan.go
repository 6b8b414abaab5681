package api

import (
	"fmt"
	"slices"
	"sync"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
)

// scanV1 checks the labels of every series of a remote write 1.0 request
// by walking its protobuf wire format, without unmarshalling it: upstream
// decodes the request again to store it, and a full decode here as well
// cost a quarter of the receiver's time. ok is false when the bytes are
// not a well-formed request; upstream answers those in its own words.
//
// The wire format, from prompb: WriteRequest{1: repeated TimeSeries},
// TimeSeries{1: repeated Label}, Label{1: name, 2: value}.
func (l ReceiverLimits) scanV1(raw []byte) (err error, ok bool) {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	for i := 0; len(raw) > 0; {
		num, typ, n := protowire.ConsumeTag(raw)
		if n < 0 {
			return nil, false
		}
		raw = raw[n:]
		if num != 1 || typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, raw); n < 0 {
				return nil, false
			}
			raw = raw[n:]
			continue
		}
		series, n := protowire.ConsumeBytes(raw)
		if n < 0 {
			return nil, false
		}
		raw = raw[n:]
		if !sc.labels(series) {
			return nil, false
		}
		if err := l.checkSeriesSorted(sc); err != nil {
			return fmt.Errorf("series %d %s: %w", i, describe(sc.names, sc.values), err), true
		}
		i++
	}
	return nil, true
}

// scratch holds one series' labels while it is checked. The strings point
// into the request's bytes and live no longer than the check.
type scratch struct {
	names, values, sorted []string
}

var scratchPool = sync.Pool{New: func() any { return &scratch{} }}

// labels reads a TimeSeries' labels into sc.
func (sc *scratch) labels(series []byte) bool {
	sc.names, sc.values = sc.names[:0], sc.values[:0]
	for len(series) > 0 {
		num, typ, n := protowire.ConsumeTag(series)
		if n < 0 {
			return false
		}
		series = series[n:]
		if num != 1 || typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, series); n < 0 {
				return false
			}
			series = series[n:]
			continue
		}
		label, n := protowire.ConsumeBytes(series)
		if n < 0 {
			return false
		}
		series = series[n:]
		var name, value []byte
		for len(label) > 0 {
			num, typ, n := protowire.ConsumeTag(label)
			if n < 0 {
				return false
			}
			label = label[n:]
			var v []byte
			if typ == protowire.BytesType {
				v, n = protowire.ConsumeBytes(label)
			} else {
				n = protowire.ConsumeFieldValue(num, typ, label)
			}
			if n < 0 {
				return false
			}
			label = label[n:]
			switch num {
			case 1:
				name = v
			case 2:
				value = v
			}
		}
		sc.names = append(sc.names, bytesString(name))
		sc.values = append(sc.values, bytesString(value))
	}
	return true
}

// bytesString is b as a string without a copy: the request's bytes are not
// changed while the string is in use.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// checkSeriesSorted is checkSeries for the scanned labels, which senders
// almost always sort: then duplicates are neighbours, and nothing is
// copied to find them.
func (l ReceiverLimits) checkSeriesSorted(sc *scratch) error {
	if !slices.IsSorted(sc.names) {
		return l.checkSeries(sc.names, sc.values)
	}
	if err := l.checkLabels(sc.names, sc.values); err != nil {
		return err
	}
	for i := 1; i < len(sc.names); i++ {
		if sc.names[i] == sc.names[i-1] {
			return fmt.Errorf("duplicate label name %q", short(sc.names[i]))
		}
	}
	return nil
}
