// Package querycache is an exact results cache for PromQL range queries.
//
// A dashboard asks the same range query every few seconds with its window
// slid forward. Most of the steps it asks for were answered a moment ago and
// cannot have changed: Engine wraps a promql.QueryEngine, keeps the answer of
// each range query per step-aligned extent, and evaluates only the steps it
// does not hold, then stitches the matrices together. A stitched answer is
// exactly what one evaluation of the whole range gives now, bit for bit.
//
// Every rule that decides whether the cache may answer lives in this
// package, each in one place. The server only hands over facts: every
// write goes through Tracker's Appendable wrappers, Tracker.Invalidate
// follows each delete, ApplyConfig follows each configuration applied,
// Options.Features names the engine's features, and StatsRequested marks
// requests answered with statistics.
//
// Left to the engine (bypass.go, which names each reason in the label of
// miniprom_query_cache_range_queries_total{result="bypass"}):
//
//   - plan.go: expressions whose value at step t might depend on more than
//     t and the samples in a window fixed relative to t: @,
//     start()/end()/step()/range(), topk/bottomk (whose ties fall by an
//     input order that depends on the range), sort() (warned about only in
//     ranges of more than one step), experimental functions and modifiers,
//     and subqueries whose windows leave gaps at the query's step;
//   - steps or starts that are not a whole number of milliseconds;
//   - requests for statistics (the API's stats=, per-step statistics),
//     which describe one evaluation;
//   - a query log (it must list what the engine runs) or remote_read
//     (samples that change without the tracker knowing), read from each
//     configuration applied;
//   - engine features not proven exact with the cache: delayed name
//     removal, type and unit labels, query cost;
//   - answers with errors or warnings (engine.go: the engine's whole
//     evaluation gives them; infoOnly keeps stepwise infos), and a cached
//     extent whose annotations the evaluated pieces do not include.
//
// Dropped or not served:
//
//   - tracker.go keeps a watermark behind the newest sample (and behind
//     now). A step is cached only when the window it reads ends before the
//     watermark; a sample landing behind it (backfill, out-of-order
//     samples, late remote write), a delete or a configuration applied
//     bumps the generation, which empties the store (store.go).
//   - epoch.go: the epoch (generation, oldest sample held, the set of
//     blocks, and whether the whole range reads a block) is read before and
//     after every evaluation. An answer is stored, and cached steps are
//     served, only if it did not change meanwhile and is the one the cached
//     steps were evaluated in: retention, compactions and blocks copied into
//     the data directory change it without any write.
//   - wholerange.go: the steps the cache lacks are evaluated with their
//     series in the order the whole range's come in (label order when it
//     reads a block, the head's order of creation when it reads the head
//     alone); float aggregations round by that order.
//
// SplitEngine (split.go) evaluates what the cache must evaluate, and what
// it could have cached but did not hold, as concurrent sub-ranges on step
// boundaries, stitched the same way; the same plans decide what it may
// split, and each sub-range reads its series in the whole range's order
// (wholerange.go).
package querycache
