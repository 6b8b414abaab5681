package server

import (
	"fmt"

	"github.com/prometheus/prometheus/config"
)

// applyLogLevel sets the log level from runtime.log_level. Without it in
// the file, upstream's loader fills in config.DefaultRuntimeConfig, whose
// level cmd/miniprom sets from --log.level as Prometheus does.
func (s *Server) applyLogLevel(cfg *config.Config) error {
	l := s.opts.Tuning.LogLevel
	if l == nil || cfg.Runtime.LogLevel == "" {
		return nil
	}
	if err := l.Set(string(cfg.Runtime.LogLevel)); err != nil {
		return fmt.Errorf("applying log level: %w", err)
	}
	return nil
}
