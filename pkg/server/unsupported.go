package server

import (
	"errors"

	"github.com/prometheus/prometheus/config"
)

// refuseUnsupported rejects config sections upstream's loader accepts but
// miniprom would not act on, so that nothing in a prometheus.yml is silently
// ignored: a failed start or reload says so instead.
func refuseUnsupported(cfg *config.Config) error {
	if len(cfg.RemoteReadConfigs) > 0 {
		return errors.New("remote_read is not supported by miniprom: queries read only its own TSDB, so the section would be ignored; remove it, and query the long-term store (Thanos, Mimir, VictoriaMetrics) directly for older data")
	}
	return nil
}
