package server

import (
	"time"

	"github.com/miniprom/miniprom/pkg/api"
)

// DefaultOptions are the defaults of every option that has one: Prometheus
// 3.16's flag defaults and miniprom's own. They are written here (and in
// DefaultTuning) only: cmd/miniprom declares its flags' defaults from them,
// and a program embedding the server starts from them and changes what it
// needs. Zero is never read as "the default": in a limit it means no
// limit, from the flag down to upstream, as in Prometheus.
func DefaultOptions() Options {
	return Options{
		RemoteWriteReceiverMessages: SupportedRemoteWriteMessages(),
		RemoteFlushDeadline:         time.Minute,
		Query: QueryOptions{
			LookbackDelta:  5 * time.Minute,
			Timeout:        2 * time.Minute,
			MaxSamples:     50_000_000,
			MaxConcurrency: 20,
		},
		QueryCacheSize:  DefaultQueryCacheSize,
		QueryLimits:     api.DefaultQueryLimits(),
		ReceiverLimits:  api.DefaultReceiverLimits(),
		ShutdownTimeout: DefaultShutdownTimeout,
		Tuning:          DefaultTuning(),
	}
}
