package querycache

import "github.com/prometheus/prometheus/storage"

// wholeRange is q as the engine must read it to evaluate the steps
// [s, e] of a range query asked for [start, end] (ms) and give exactly
// what one evaluation of [start, end] gives: every querier it opens is the
// one the engine opens for the whole range.
//
// The querier decides the order of the series a selector returns, which
// the engine does not ask to be sorted, and aggregations that add floats
// (sum, avg, stddev, stdvar) round by that order. tsdb.DB.Querier returns
// the head's querier alone when no block overlaps the range, and its series
// come in the head's order of creation; when a block overlaps, they come
// in label order (a block's own order, or storage.NewMergeQuerier's, which
// sorts to merge). A piece of a range, such as the few newest steps of a
// refreshed dashboard, may read the head alone where the whole range also
// reads a block: a series created after others that sort after it (a host
// backfilled as host-40, between host-4 and host-5) is then added in
// another place, and the sum differs in its last bits.
//
// The engine opens one querier per query, over [s+from, e+to], where from
// and to follow from the expression alone for every expression the cache
// takes (plan.go refuses @ and whatever else pins a time). Moving mint back
// by s-start and maxt forward by end-e gives the whole range's
// [start+from, end+to]. The selectors' hints still name the piece's own
// windows, so no more samples are read.
//
// It is also what evaluating a range as concurrent sub-ranges needs.
func wholeRange(q storage.Queryable, start, end, s, e int64) storage.Queryable {
	if s == start && e == end {
		return q
	}
	return shiftedQueryable{q: q, before: s - start, after: end - e}
}

type shiftedQueryable struct {
	q             storage.Queryable
	before, after int64 // ms, >= 0
}

func (sq shiftedQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	return sq.q.Querier(mint-sq.before, maxt+sq.after)
}
