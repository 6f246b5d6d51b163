-- wrk script for benchmarks/load_test.py: rotates over the pages given after
-- "--", as if behind the HTTPS proxy, and counts answers by status and by
-- page cache outcome (X-Cache: HIT, MISS, none when not stored), and the 503
-- answers by second (clock time), to tell them from the outage. Prints one
-- line, "RESULT {json}", that load_test.py reads.

threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  paths = args
  counter = 0
  statuses = {}
  caches = {}
  unavailable_at = {}
  wrk.headers["X-Forwarded-Proto"] = "https"
end

function request()
  counter = counter + 1
  return wrk.format(nil, paths[(counter % #paths) + 1])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 503 then
    local second = os.time()
    unavailable_at[second] = (unavailable_at[second] or 0) + 1
  end
  local cache = headers["X-Cache"] or "none"
  caches[cache] = (caches[cache] or 0) + 1
end

-- A JSON object's members: one thread table, summed over the threads.
local function totals(name)
  local counts = {}
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get(name)) do
      counts[key] = (counts[key] or 0) + count
    end
  end
  local parts = {}
  for key, count in pairs(counts) do
    table.insert(parts, string.format('"%s": %d', key, count))
  end
  return table.concat(parts, ", ")
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "statuses": {%s}, "cache": {%s}, "unavailable_at": {%s}, ' ..
    '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"latency_ms": {"mean": %.2f, "p50": %.2f, "p90": %.2f, "p99": %.2f, "max": %.2f}}\n',
    summary.requests, summary.duration, totals("statuses"), totals("caches"), totals("unavailable_at"),
    errors.connect, errors.read, errors.write, errors.timeout,
    latency.mean / 1000, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
