package server

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/version"
	v1 "github.com/prometheus/prometheus/web/api/v1"
)

// runtimeInfo answers /api/v1/status/runtimeinfo.
func (s *Server) runtimeInfo() (v1.RuntimeInfo, error) {
	cwd, _ := os.Getwd()
	info := v1.RuntimeInfo{
		StartTime:        s.birth.UTC(),
		CWD:              cwd,
		GoroutineCount:   runtime.NumGoroutine(),
		GOMAXPROCS:       runtime.GOMAXPROCS(0),
		GOMEMLIMIT:       debug.SetMemoryLimit(-1),
		GOGC:             os.Getenv("GOGC"),
		GODEBUG:          os.Getenv("GODEBUG"),
		ServerTime:       time.Now().UTC(),
		StorageRetention: model.Duration(s.storage.Retention()).String(),
	}
	hostname, err := os.Hostname()
	if err != nil {
		return info, fmt.Errorf("error getting hostname: %w", err)
	}
	info.Hostname = hostname
	s.metrics.fill(&info)
	return info, nil
}

func buildInfo() *v1.PrometheusVersion {
	return &v1.PrometheusVersion{
		Version:   version.Version,
		Revision:  version.Revision,
		Branch:    version.Branch,
		BuildUser: version.BuildUser,
		BuildDate: version.BuildDate,
		GoVersion: version.GoVersion,
	}
}
