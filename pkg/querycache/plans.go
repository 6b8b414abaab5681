package querycache

import (
	"sync"
	"time"

	"github.com/prometheus/prometheus/promql"
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
		p, err := planFor(expr, lookback)
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

// forRange returns the plan of a range query whose steps may be evaluated
// apart and stitched together (cached, or split into sub-ranges), and
// whether there is one: its expression has a plan (plan.go), and the step
// grid is whole milliseconds, as the engine's.
func (ps *plans) forRange(opts promql.QueryOpts, qs string, start time.Time, step, lookback time.Duration) (plan, bool) {
	if step <= 0 || step%time.Millisecond != 0 || start.UnixNano()%int64(time.Millisecond) != 0 {
		return plan{}, false
	}
	if opts != nil && opts.EnablePerStepStats() {
		return plan{}, false // per-step statistics describe an evaluation
	}
	p, ok := ps.get(qs, lookback)
	if ok && p.maxStep > 0 && step.Milliseconds() > p.maxStep {
		return plan{}, false // the subquery's windows leave gaps (plan.go)
	}
	return p, ok
}

// len is how many plans are remembered.
func (ps *plans) len() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.m)
}
