-- wrk `done` hook for the Linli benchmark harness (bench/wrk.py parses the line).
-- Percentiles come from wrk's own latency histogram, so they are exact rather than
-- read off the rounded summary wrk prints. Times are in microseconds.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "LINLI_BENCH requests=%.0f duration_us=%.0f bytes=%.0f"
      .. " p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f mean_us=%.1f"
      .. " connect_errors=%.0f read_errors=%.0f write_errors=%.0f status_errors=%.0f"
      .. " timeouts=%.0f\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
