-- wrk script for bench/scrape.sh: a range query whose window ends at now
-- and whose start is, on every request, a millisecond phase of the step
-- that no earlier request asked for. A results cache keyed on the step
-- grid (miniprom's, pkg/querycache) then misses every time: every request
-- is a cold evaluation of the whole window, as on a dashboard's first load.
--
--   wrk -t2 -s bench/coldrange.lua URL -- QUERY(url-encoded) STEP_S WINDOW_S
--
-- Phases repeat after STEP_S*1000/8 requests per thread (7,500 at 60s).
local threads = 0
local n = 0

function setup(thread)
  -- Each thread runs its own Lua state: tell each apart (up to 8).
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  query, step, window = args[1], tonumber(args[2]), tonumber(args[3])
end

function request()
  n = n + 1
  local phase = (n * 8 + tid) % (step * 1000)
  local endms = os.time() * 1000 - phase
  return wrk.format("GET", string.format(
    "/api/v1/query_range?query=%s&start=%.3f&end=%.3f&step=%d",
    query, (endms - window * 1000) / 1000, endms / 1000, step))
end
