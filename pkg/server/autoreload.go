package server

import (
	"context"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/config"
)

// autoReload is --config.auto-reload as in Prometheus 3.16: every
// --config.auto-reload-interval it hashes the config file and the files it
// names (rule files, scrape config files) with upstream's
// config.GenerateChecksum, and reloads when that differs from what was last
// loaded. A failed reload is retried at every tick, as in Prometheus.
func (s *Server) autoReload(ctx context.Context) {
	iv := s.opts.Tuning.AutoReloadInterval
	if iv <= 0 {
		return
	}
	s.logger.Info("Automatic configuration file reloading enabled", "interval", model.Duration(iv))
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sum, err := config.GenerateChecksum(s.opts.ConfigFile)
		if err != nil {
			// As Prometheus: a file that cannot be hashed (unreadable, or
			// YAML too broken to find its rule files) is reloaded anyway,
			// so the error shows as a failed reload, once per tick.
			s.setChecksum("")
			s.logger.Error("Failed to generate checksum during configuration reload", "err", err)
		} else if sum == s.loadedChecksum() {
			continue
		}
		s.logger.Info("Configuration file change detected, reloading the configuration.")
		// The outcome is logged, and on success recorded, by reload.
		_ = s.Reload(ctx)
	}
}

// noteConfigLoaded records the checksum of the files just loaded, so that
// the automatic reload does not repeat a reload made by SIGHUP or
// /-/reload. Called after every successful load.
func (s *Server) noteConfigLoaded() {
	if s.opts.Tuning.AutoReloadInterval <= 0 {
		return
	}
	sum, err := config.GenerateChecksum(s.opts.ConfigFile)
	if err != nil {
		s.logger.Error("Failed to generate checksum during configuration reload", "err", err)
	}
	s.setChecksum(sum)
}

func (s *Server) setChecksum(sum string) {
	s.sumMu.Lock()
	defer s.sumMu.Unlock()
	s.configSum = sum
}

func (s *Server) loadedChecksum() string {
	s.sumMu.Lock()
	defer s.sumMu.Unlock()
	return s.configSum
}
