package main

import (
	"fmt"
	"slices"
	"strings"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
)

// rwMessagesFlag parses the repeatable
// --web.remote-write-receiver.accepted-protobuf-messages flag as Prometheus
// does: each value must be a known message, given once.
func rwMessagesFlag(msgs *remoteapi.MessageTypes) *rwMessages { return &rwMessages{msgs: msgs} }

type rwMessages struct{ msgs *remoteapi.MessageTypes }

// IsCumulative tells kingpin the flag can be repeated.
func (*rwMessages) IsCumulative() bool { return true }

func (p *rwMessages) String() string {
	ss := make([]string, 0, len(*p.msgs))
	for _, t := range *p.msgs {
		ss = append(ss, string(t))
	}
	return strings.Join(ss, ",")
}

func (p *rwMessages) Set(opt string) error {
	t := remoteapi.WriteMessageType(opt)
	if err := t.Validate(); err != nil {
		return err
	}
	if slices.Contains(*p.msgs, t) {
		return fmt.Errorf("duplicated %v flag value, got %v already", t, *p.msgs)
	}
	*p.msgs = append(*p.msgs, t)
	return nil
}
