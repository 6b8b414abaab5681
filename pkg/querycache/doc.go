// Package querycache is an exact results cache for PromQL range queries.
//
// A dashboard asks the same range query every few seconds with its window
// slid forward. Most of the steps it asks for were answered a moment ago and
// cannot have changed: Engine wraps a promql.QueryEngine, keeps the answer of
// each range query per step-aligned extent, and evaluates only the steps it
// does not hold, then stitches the matrices together.
//
// Exactness rests on three rules, each kept by one piece of this package:
//
//   - plan.go caches only expressions whose value at step t depends on
//     nothing but t and the samples in a window fixed relative to t: no @,
//     no start()/end()/step()/range(), no topk/bottomk
//     (whose ties fall by an input order that depends on the range), no
//     sort() (warned about only in ranges of more than one step), no
//     subquery whose windows leave gaps at the query's step, no
//     experimental functions or modifiers. Everything else bypasses the
//     cache.
//   - tracker.go keeps a watermark behind the newest sample (and behind
//     now) and invalidates every cached result when a sample lands behind it
//     (backfill, out-of-order samples, late remote write), or when the server
//     says so (admin deletes, config reload). A step is only cached when the
//     window it reads ends before the watermark.
//   - engine.go serves a cached answer only while the oldest sample storage
//     holds is where it was when the answer was evaluated, so retention
//     dropping samples never leaves a stale step behind.
//
// An evaluation that fails or carries warnings is answered by evaluating the
// whole range uncached, so errors and warnings are exactly the engine's.
// Informational annotations (rate() of a name not ending in _total carries
// one) are kept with the cached steps: see infoOnly in engine.go.
//
// SplitEngine (split.go) evaluates what the cache must evaluate, and what
// it could have cached but did not hold, as concurrent sub-ranges on step
// boundaries, stitched the same way; the same plans decide what it may
// split.
package querycache
