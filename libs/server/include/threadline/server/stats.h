#pragma once

// Per-method call counts by status code and latency histograms, recorded by
// every handler (see handler.h) and exported in one place as Prometheus
// metrics.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "threadline/common/histogram.h"

namespace threadline::server {

// gRPC status codes run from OK (0) to UNAUTHENTICATED (16).
inline constexpr int kStatusCodeCount = 17;

// "OK", "CANCELLED", ..., "UNAUTHENTICATED"; "UNKNOWN_CODE" outside 0..16.
std::string_view StatusCodeName(int code);

// Upper bounds of the latency buckets in seconds (Prometheus "le" labels):
// the project's latency histogram; one more bucket catches everything slower.
inline constexpr const auto& kLatencyBucketBounds = kLatencyBounds;

// A copy of one method's counters.
struct MethodStats {
  std::string method;
  // calls[code]: calls that ended with grpc::StatusCode `code`.
  std::array<uint64_t, kStatusCodeCount> calls{};
  // Non-cumulative: latency_buckets[i] counts calls slower than bound i-1 and
  // at most bound i; the last entry counts calls slower than every bound.
  // (Prometheus wants cumulative counts: sum them up when exporting.)
  std::array<uint64_t, kLatencyBucketBounds.size() + 1> latency_buckets{};
  double latency_sum_seconds = 0;

  uint64_t total_calls() const;
};

// Server streams, over every streaming method.
struct StreamCounts {
  uint64_t open = 0;                   // streams open now
  uint64_t refused_per_principal = 0;  // refused: the caller had its most open
  uint64_t refused_server = 0;         // refused: the server had its most open
  uint64_t write_timeouts = 0;         // ended: the client took nothing for too long
};

// Thread-safe. Recording takes a shared lock and atomic increments; only the
// first call of a method takes the exclusive lock.
class ServerStats {
 public:
  ServerStats() = default;
  ServerStats(const ServerStats&) = delete;
  ServerStats& operator=(const ServerStats&) = delete;

  // `code` is a grpc::StatusCode value; out-of-range codes count as UNKNOWN.
  void Record(std::string_view method, int code, std::chrono::nanoseconds latency);

  // Every method seen so far, sorted by name.
  std::vector<MethodStats> Snapshot() const;

  // Stream bookkeeping (see StreamCounts).
  void StreamOpened() { streams_open_.fetch_add(1, std::memory_order_relaxed); }
  void StreamClosed() { streams_open_.fetch_sub(1, std::memory_order_relaxed); }
  void StreamRefused(bool per_principal) {
    (per_principal ? refused_per_principal_ : refused_server_)
        .fetch_add(1, std::memory_order_relaxed);
  }
  void StreamWriteTimedOut() { write_timeouts_.fetch_add(1, std::memory_order_relaxed); }
  StreamCounts Streams() const;

 private:
  struct Counters {
    std::array<std::atomic<uint64_t>, kStatusCodeCount> calls{};
    LatencyHistogram latency;
  };
  Counters& For(std::string_view method);

  mutable std::shared_mutex mu_;
  std::map<std::string, std::unique_ptr<Counters>, std::less<>> methods_;  // guarded by mu_
  std::atomic<uint64_t> streams_open_{0};
  std::atomic<uint64_t> refused_per_principal_{0};
  std::atomic<uint64_t> refused_server_{0};
  std::atomic<uint64_t> write_timeouts_{0};
};

}  // namespace threadline::server
