package querycache

import (
	"hash/fnv"

	"github.com/prometheus/prometheus/tsdb"
)

// Storage is what the cache reads of the storage whose answers it keeps,
// besides the writes its Tracker sees.
type Storage interface {
	// StartTime is the oldest timestamp storage holds (ms). Retention
	// moves it when it drops samples.
	StartTime() (int64, error)
	// BlockMetas lists the persisted blocks. They change when the head is
	// compacted, when retention drops one, and when the TSDB loads a block
	// copied into its directory (promtool tsdb create-blocks-from, a
	// restored snapshot), which no append tells the tracker about.
	BlockMetas() ([]tsdb.BlockMeta, error)
}

// epoch is what an answer depends on besides its query and the samples
// older than the watermark. It is read before and after every evaluation:
// an answer is stored, and a cached one served, only if the epoch did not
// change meanwhile and is the one the cached steps were evaluated in.
type epoch struct {
	// gen is the tracker's generation: a sample behind the watermark, an
	// admin delete, a config applied.
	gen uint64
	// oldest is storage's StartTime: retention.
	oldest int64
	// blocks identifies the set of blocks: compactions, blocks loaded or
	// dropped.
	blocks uint64
	// labelOrder tells whether a block overlaps the whole range's
	// [mint, maxt], so that storage gives the engine series in label order
	// rather than in the head's order of creation (see wholeRange).
	labelOrder bool
}

// epochOf reads the epoch of a range query reading samples in
// [mint, maxt]. It changes nothing.
func epochOf(t *Tracker, st Storage, mint, maxt int64) (epoch, error) {
	// The generation first: a change that bumps it after this read shows
	// in the next read, as does one storage shows.
	ep := epoch{gen: t.Generation()}
	var err error
	if ep.oldest, err = st.StartTime(); err != nil {
		return epoch{}, err
	}
	metas, err := st.BlockMetas()
	if err != nil {
		return epoch{}, err
	}
	for _, m := range metas {
		// Summed, so the order in which storage lists them does not count.
		h := fnv.New64a()
		h.Write(m.ULID[:])
		ep.blocks += h.Sum64()
		// tsdb.DB.Querier's choice: Block.OverlapsClosedInterval.
		if m.MinTime <= maxt && mint < m.MaxTime {
			ep.labelOrder = true
		}
	}
	ep.blocks += uint64(len(metas))
	return ep, nil
}
