#pragma once

// A fixed-bucket latency histogram for component stats. It holds no
// Prometheus types so that any library can record into it; libs/metrics
// turns snapshots into Prometheus histograms at scrape time.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

namespace threadline {

// Upper bounds of the latency buckets in seconds, from 0.5 ms (a grouped
// fsync) to 10 s (a stuck consumer): the range an operator needs to tell
// "fast" from "an agent notices".
inline constexpr std::array<double, 14> kLatencyBounds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// A copy of a histogram. buckets[i] counts observations above bound i-1 and
// at most bound i (not cumulative); the last entry counts those above every
// bound. Empty `buckets` means "never recorded".
struct HistogramSnapshot {
  std::vector<double> bounds;
  std::vector<uint64_t> buckets;
  double sum_seconds = 0;
  uint64_t count() const;
};

// Thread-safe; Observe is a few relaxed atomic increments.
class LatencyHistogram {
 public:
  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Negative latencies (clock skew between machines) count as zero.
  void Observe(std::chrono::nanoseconds latency);
  HistogramSnapshot Snapshot() const;

 private:
  std::array<std::atomic<uint64_t>, kLatencyBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace threadline
