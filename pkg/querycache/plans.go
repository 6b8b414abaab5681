package querycache

import (
	"sync"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// Bounds of the plans remembered: a dashboard's panels, many times over.
// Longer queries are planned every time, so that the memory held stays
// below maxPlans × maxPlannedLen.
const (
	maxPlans      = 1024
	maxPlannedLen = 4 << 10
)

// plans remembers the plan of recent query texts. Every range query is
// parsed by the engine already; planning it again means a second parse,
// which costs as much as the rest of the cache's work on a miss, and more
// on a hit.
type plans struct {
	parser parser.Parser

	mu sync.Mutex
	m  map[planKey]planned
}

type planKey struct {
	qs       string
	lookback time.Duration
}

type planned struct {
	p  plan
	ok bool
}

func newPlans(p parser.Parser) *plans {
	return &plans{parser: p, m: map[planKey]planned{}}
}

// get returns the plan of qs, and whether it is cacheable.
func (ps *plans) get(qs string, lookback time.Duration) (plan, bool) {
	k := planKey{qs, lookback}
	ps.mu.Lock()
	r, found := ps.m[k]
	ps.mu.Unlock()
	if found {
		return r.p, r.ok
	}
	if expr, err := ps.parser.ParseExpr(qs); err == nil {
		p, err := planOf(expr, lookback)
		r = planned{p, err == nil}
	}
	if len(qs) > maxPlannedLen {
		return r.p, r.ok
	}
	ps.mu.Lock()
	if len(ps.m) >= maxPlans {
		// Forget all: the dashboards still open plan again once.
		clear(ps.m)
	}
	ps.m[k] = r
	ps.mu.Unlock()
	return r.p, r.ok
}

// len is how many plans are remembered.
func (ps *plans) len() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.m)
}
