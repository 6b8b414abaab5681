package querycache

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// asWholeRange is q as the engine must read it to evaluate some of the
// steps of a range query and give exactly what one evaluation of the whole
// range gives. labelOrder is the whole range's, from its epoch (epoch.go)
// read before the evaluation; the answer holds if the epoch read after is
// the same.
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
// A piece reads within the whole range, so when no block overlaps the
// whole range none overlaps the piece, and its querier gives the head's
// order too. When one does, the piece's selects are asked sorted: label
// order, as the whole range's merge gives. (Opening the whole range's
// querier instead gives the same order, but reads every block's index for
// series the piece then skips: a refresh of 1,000 series over 6h made
// twice the allocations.) The samples are the same either way: each
// select reads only its own window, which is inside the piece's.
func asWholeRange(q storage.Queryable, labelOrder bool) storage.Queryable {
	if !labelOrder {
		return q
	}
	return sortedQueryable{q}
}

type sortedQueryable struct{ storage.Queryable }

func (s sortedQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := s.Queryable.Querier(mint, maxt)
	if err != nil {
		return nil, err
	}
	return sortedQuerier{q}, nil
}

type sortedQuerier struct{ storage.Querier }

func (s sortedQuerier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	return s.Querier.Select(ctx, true, hints, ms...)
}
