-- wrk script for benchmarks/load_test.py: rotates over the pages given after
-- "--", as if behind the HTTPS proxy, and counts answers by status and by
-- page cache outcome (X-Cache: HIT, MISS, none when not stored). Prints one
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
  wrk.headers["X-Forwarded-Proto"] = "https"
end

function request()
  counter = counter + 1
  return wrk.format(nil, paths[(counter % #paths) + 1])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local cache = headers["X-Cache"] or "none"
  caches[cache] = (caches[cache] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local cache_counts = {}
  for _, thread in ipairs(threads) do
    for cache, count in pairs(thread:get("caches")) do
      cache_counts[cache] = (cache_counts[cache] or 0) + count
    end
  end
  local cache_parts = {}
  for cache, count in pairs(cache_counts) do
    table.insert(cache_parts, string.format('"%s": %d', cache, count))
  end
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "statuses": {%s}, "cache": {%s}, ' ..
    '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"latency_ms": {"mean": %.2f, "p50": %.2f, "p90": %.2f, "p99": %.2f, "max": %.2f}}\n',
    summary.requests, summary.duration, table.concat(parts, ", "), table.concat(cache_parts, ", "),
    errors.connect, errors.read, errors.write, errors.timeout,
    latency.mean / 1000, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
