package server

import (
	"fmt"
	"log/slog"

	"github.com/prometheus/prometheus/rules"
)

// CheckConfig loads a prometheus.yml as New would, without starting
// anything: the config with upstream's loader (only registered service
// discoveries parse), its scrape config files and its rule files. It is
// miniprom's side of `promtool check config`.
func CheckConfig(file string, f Features, logger *slog.Logger) error {
	cfg, err := loadConfig(file, Options{}, logger)
	if err != nil {
		return err
	}
	if _, err := cfg.GetScrapeConfigs(); err != nil {
		return fmt.Errorf("scrape config files of %q: %w", file, err)
	}
	if err := rules.ParseFiles(cfg.RuleFiles, cfg.GlobalConfig.MetricNameValidationScheme, f.parser(), logger); err != nil {
		return fmt.Errorf("rule files of %q: %w", file, err)
	}
	return nil
}
