package storage

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/annotations"
)

// blockCache keeps the merged and sorted label names and values of the
// persisted blocks a range covers, so a day of 2h blocks is not merged again
// on every load (Prometheus does; a head alone never had to). A block never
// changes once written and its label values do not depend on the queried
// range, so the answer for a set of blocks, a label and matchers holds for
// as long as those blocks exist: the key names the blocks, and compaction
// or retention changes it. Nothing here needs to be told about a change.
type blockCache struct {
	answers      *answers[[]string]
	hits, misses prometheus.Counter
}

func newBlockCache(m labelCacheMetrics) *blockCache {
	return &blockCache{
		answers: newAnswers(labelCacheBytes, func(key string, vals []string) int64 {
			return int64(len(key)) + stringsSize(vals)
		}),
		hits:   m.hits.WithLabelValues("blocks"),
		misses: m.misses.WithLabelValues("blocks"),
	}
}

// labels is the merged answer of blocks over [mint, maxt], from the cache
// when it has it. The caller owns the answer: a hit is a copy of the kept
// one. Answers with annotations are not kept.
func (c *blockCache) labels(blocks []*tsdb.Block, mint, maxt int64, l lookup) ([]string, annotations.Annotations, error) {
	var ulids strings.Builder
	for _, b := range blocks {
		ulids.WriteString(b.Meta().ULID.String())
	}
	key := l.key(ulids.String())
	if vals, ok := c.answers.get(key); ok {
		c.hits.Inc()
		return slices.Clone(vals), nil, nil
	}
	c.misses.Inc()
	var merged []string
	var ws annotations.Annotations
	for i, b := range blocks {
		bq, err := tsdb.NewBlockQuerier(b, mint, maxt)
		if err != nil {
			return nil, ws, err
		}
		vals, w, err := l.ask(bq, nil)
		ws.Merge(w)
		if err == nil {
			// A block's strings point into its memory-mapped index,
			// unmapped when the block goes; the DB's querier keeps its
			// blocks open until closed, the cache keeps none. Copied
			// while this querier holds the block open.
			for i, v := range vals {
				vals[i] = strings.Clone(v)
			}
		}
		bq.Close()
		if err != nil {
			return nil, ws, err
		}
		if i == 0 {
			merged = vals
		} else {
			merged = mergeSorted(merged, vals)
		}
	}
	if len(ws) == 0 {
		c.answers.put(key, slices.Clone(merged))
	}
	return merged, ws, nil
}
