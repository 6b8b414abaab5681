package storage

import (
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/tsdb/index"
)

// headGen numbers the states of the head's set of series, so that an answer
// computed from the head's postings (label values and names under
// matchers) can be reused while no series came or went. It is one of the
// head's series lifecycle hooks.
//
// The head calls PostCreation once the new series is in its postings, so a
// number read before a computation and still the same after it names the
// set the computation saw. PostDeletion comes before the head takes the
// series out of its postings (tsdb's gc), so a deletion stays pending until
// the all-series postings no longer hold it; until then nothing is reused
// or kept. Series references are never reused.
type headGen struct {
	n atomic.Uint64
	// head, once the DB is open, lets deletions drop the done ones from
	// pending as they come (WAL replay deletes before).
	head atomic.Pointer[tsdb.Head]

	mu       sync.Mutex
	pending  []storage.SeriesRef // one series of each deletion not yet seen done
	prunedTo int                 // len(pending) after the last prune
}

// pendingSlack is how many deletions wait before PostDeletion prunes them.
// Without pruning there, a server no one asks label lookups under matchers
// would keep one reference per stripe and gc for ever.
const pendingSlack = 1024

func (g *headGen) PreCreation(labels.Labels) error { return nil }

func (g *headGen) PostCreation(labels.Labels) { g.n.Add(1) }

// PostDeletion is called for each of the head's stripes, mostly with none
// deleted. The series of one call leave the all-series postings together
// (upstream's MemPostings.Delete takes them out of that list in one step,
// after the postings of their labels), so one of them, the lowest, stands
// for the call. The number moves with the pending deletion under the lock,
// so that settled never sees a number counting a deletion whose series it
// does not check. The list is pruned each time it doubled: a gc announces
// its deletions stripe by stripe before it takes any of them out of the
// postings, and none of those can be pruned yet.
func (g *headGen) PostDeletion(deleted map[chunks.HeadSeriesRef]labels.Labels) {
	if len(deleted) == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pending = append(g.pending, storage.SeriesRef(lowestRef(deleted)))
	g.n.Add(1)
	if head := g.head.Load(); head != nil && len(g.pending) >= 2*g.prunedTo+pendingSlack {
		g.prune(context.Background(), head)
	}
}

// lowestRef is the lowest reference in a non-empty set.
func lowestRef(set map[chunks.HeadSeriesRef]labels.Labels) chunks.HeadSeriesRef {
	return slices.Min(slices.Collect(maps.Keys(set)))
}

// settled returns the number of the head's current set of series, and
// whether that set is what its postings show: false while a deletion is
// still being applied. The number is read under the lock: read before it,
// a deletion could be announced and applied in between, and the number,
// not counting it, would name the set from before it as settled.
func (g *headGen) settled(ctx context.Context, head *tsdb.Head) (uint64, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n.Load(), g.prune(ctx, head)
}

// prune drops the pending deletions whose series the all-series postings
// no longer hold, and reports whether none is left. g.mu is held.
func (g *headGen) prune(ctx context.Context, head *tsdb.Head) bool {
	if len(g.pending) == 0 {
		return true
	}
	ir, err := head.Index()
	if err != nil {
		return false
	}
	defer ir.Close()
	name, value := index.AllPostingsKey()
	all, err := ir.Postings(ctx, name, value)
	if err != nil {
		return false
	}
	slices.Sort(g.pending)
	keep := g.pending[:0]
	for _, ref := range g.pending {
		// Seek moves forward only: the references are in order.
		if all.Seek(ref) && all.At() == ref {
			keep = append(keep, ref)
		}
	}
	g.pending, g.prunedTo = keep, len(keep)
	return len(keep) == 0
}

// lifecycles calls each of the head's series lifecycle hooks in turn.
type lifecycles []tsdb.SeriesLifecycleCallback

func (ls lifecycles) PreCreation(lset labels.Labels) error {
	for _, l := range ls {
		if err := l.PreCreation(lset); err != nil {
			return err
		}
	}
	return nil
}

func (ls lifecycles) PostCreation(lset labels.Labels) {
	for _, l := range ls {
		l.PostCreation(lset)
	}
}

func (ls lifecycles) PostDeletion(deleted map[chunks.HeadSeriesRef]labels.Labels) {
	for _, l := range ls {
		l.PostDeletion(deleted)
	}
}
