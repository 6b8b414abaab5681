-- wrk script for bench/scrape.sh: a range query whose window ends at now,
-- asked on every request with a text no earlier request had (a PromQL
-- comment numbering it) and a start at a new millisecond phase of the
-- step. A results cache keyed on the query text and the step grid
-- (miniprom's, pkg/querycache) then misses every time: every request is a
-- cold evaluation of the whole window, as on a dashboard's first load.
--
--   wrk -t2 -s bench/coldrange.lua URL -- QUERY(url-encoded) STEP_S WINDOW_S
local threads = 0
local n = 0

function setup(thread)
  -- Each thread runs its own Lua state: tell each apart.
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  query, step, window = args[1], tonumber(args[2]), tonumber(args[3])
end

function request()
  n = n + 1
  local endms = os.time() * 1000 - (n * 8 + tid) % (step * 1000)
  -- "\n# request tid-n": a comment, which every PromQL parser skips.
  return wrk.format("GET", string.format(
    "/api/v1/query_range?query=%s%%0A%%23%%20request%%20%d-%d&start=%.3f&end=%.3f&step=%d",
    query, tid, n, (endms - window * 1000) / 1000, endms / 1000, step))
end
