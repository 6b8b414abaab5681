package querycache

import (
	"container/list"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// store holds one extent per query key, least recently used first out,
// within a byte budget. Every entry belongs to the tracker generation it was
// evaluated in; a newer generation empties the store.
type store struct {
	maxBytes int64

	mu    sync.Mutex
	gen   uint64
	bytes int64
	lru   *list.List // of *entry, most recent at the front
	byKey map[string]*list.Element

	size, entries prometheus.Gauge
}

type entry struct {
	key string
	ext *extent
}

func newStore(maxBytes int64, reg prometheus.Registerer) *store {
	s := &store{
		maxBytes: maxBytes,
		lru:      list.New(),
		byKey:    map[string]*list.Element{},
		size: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "miniprom_query_cache_size_bytes",
			Help: "Estimated memory held by cached range query results.",
		}),
		entries: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "miniprom_query_cache_entries",
			Help: "Range queries with a cached result.",
		}),
	}
	if reg != nil {
		max := prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "miniprom_query_cache_max_size_bytes",
			Help: "The memory budget of the range query cache (--query.cache-size).",
		})
		max.Set(float64(maxBytes))
		reg.MustRegister(s.size, s.entries, max)
	}
	return s
}

// sync drops everything from an older generation. Callers hold s.mu.
func (s *store) sync(gen uint64) {
	if gen == s.gen {
		return
	}
	if gen < s.gen {
		return // a query that started before the newest invalidation
	}
	s.gen = gen
	s.lru.Init()
	clear(s.byKey)
	s.bytes = 0
	s.size.Set(0)
	s.entries.Set(0)
}

// get returns the extent cached for key in generation gen.
func (s *store) get(key string, gen uint64) *extent {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sync(gen)
	if gen != s.gen {
		return nil
	}
	el, ok := s.byKey[key]
	if !ok {
		return nil
	}
	s.lru.MoveToFront(el)
	return el.Value.(*entry).ext
}

// put caches ext for key if it was evaluated in generation gen, and the
// generation is still current: a sample that landed behind the watermark
// while it was evaluated may be missing from it.
func (s *store) put(key string, gen, current uint64, ext *extent) {
	if ext.bytes > s.maxBytes/4 {
		return // one query must not flush the whole cache
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sync(current)
	if gen != s.gen {
		return
	}
	if el, ok := s.byKey[key]; ok {
		s.remove(el)
	}
	s.byKey[key] = s.lru.PushFront(&entry{key: key, ext: ext})
	s.bytes += ext.bytes
	for s.bytes > s.maxBytes {
		s.remove(s.lru.Back())
	}
	s.size.Set(float64(s.bytes))
	s.entries.Set(float64(s.lru.Len()))
}

func (s *store) remove(el *list.Element) {
	e := el.Value.(*entry)
	s.lru.Remove(el)
	delete(s.byKey, e.key)
	s.bytes -= e.ext.bytes
}
