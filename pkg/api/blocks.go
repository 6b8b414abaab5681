package api

import (
	"github.com/prometheus/prometheus/tsdb"
	v1 "github.com/prometheus/prometheus/web/api/v1"
)

// blockMetas makes /api/v1/status/tsdb/blocks answer {"blocks":[]} when
// there are no blocks (always, in memory), as Prometheus 3.16 does, instead
// of the null a nil slice would render.
type blockMetas struct{ v1.TSDBAdminStats }

func (b blockMetas) BlockMetas() ([]tsdb.BlockMeta, error) {
	m, err := b.TSDBAdminStats.BlockMetas()
	if m == nil && err == nil {
		m = []tsdb.BlockMeta{}
	}
	return m, err
}
