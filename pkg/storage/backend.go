package storage

import (
	"context"

	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// backend is where samples live. There are two: the upstream tsdb.DB
// (dbBackend: in a RAM-backed directory without a WAL, or on disk with one)
// and a head alone with its chunks in the Go heap (heapBackend), the
// fallback when no RAM-backed directory has room. Storage picks one at Open
// and never asks which it has.
type backend interface {
	storage.Queryable
	storage.ChunkQueryable
	storage.Appendable
	storage.AppendableV2
	storage.ExemplarQueryable

	StartTime() (int64, error)
	Head() *tsdb.Head
	BlockMetas() []tsdb.BlockMeta
	WALReplayStatus() tsdb.WALReplayStatus
	Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error
	CleanTombstones() error
	Snapshot(dir string, withHead bool) error
	// ApplyConfig takes storage.tsdb (retention, out-of-order window) and
	// storage.exemplars. cfg's retention is the effective one.
	ApplyConfig(cfg *config.Config) error
	// Compact does now what the background loop does from time to time:
	// compact the head into blocks and apply retention.
	Compact(ctx context.Context) error
	Close() error
}
