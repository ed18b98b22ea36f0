#include "threadline/server/stats.h"

#include <algorithm>
#include <mutex>

namespace threadline::server {
namespace {

constexpr std::array<std::string_view, kStatusCodeCount> kCodeNames = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

constexpr int kUnknownCode = 2;

}  // namespace

std::string_view StatusCodeName(int code) {
  if (code < 0 || code >= kStatusCodeCount) return "UNKNOWN_CODE";
  return kCodeNames[static_cast<size_t>(code)];
}

uint64_t MethodStats::total_calls() const {
  uint64_t total = 0;
  for (uint64_t c : calls) total += c;
  return total;
}

ServerStats::Counters& ServerStats::For(std::string_view method) {
  {
    std::shared_lock lock(mu_);
    if (auto it = methods_.find(method); it != methods_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto [it, inserted] = methods_.try_emplace(std::string(method), nullptr);
  if (inserted) it->second = std::make_unique<Counters>();
  return *it->second;
}

void ServerStats::Record(std::string_view method, int code, std::chrono::nanoseconds latency) {
  if (code < 0 || code >= kStatusCodeCount) code = kUnknownCode;
  Counters& c = For(method);
  c.calls[static_cast<size_t>(code)].fetch_add(1, std::memory_order_relaxed);
  c.latency.Observe(latency);
}

std::vector<MethodStats> ServerStats::Snapshot() const {
  std::shared_lock lock(mu_);
  std::vector<MethodStats> out;
  out.reserve(methods_.size());
  for (const auto& [method, c] : methods_) {
    MethodStats s;
    s.method = method;
    for (size_t i = 0; i < s.calls.size(); ++i) {
      s.calls[i] = c->calls[i].load(std::memory_order_relaxed);
    }
    HistogramSnapshot latency = c->latency.Snapshot();
    std::copy(latency.buckets.begin(), latency.buckets.end(), s.latency_buckets.begin());
    s.latency_sum_seconds = latency.sum_seconds;
    out.push_back(std::move(s));
  }
  return out;
}

StreamCounts ServerStats::Streams() const {
  StreamCounts c;
  c.open = streams_open_.load(std::memory_order_relaxed);
  c.refused_per_principal = refused_per_principal_.load(std::memory_order_relaxed);
  c.refused_server = refused_server_.load(std::memory_order_relaxed);
  c.write_timeouts = write_timeouts_.load(std::memory_order_relaxed);
  return c;
}

}  // namespace threadline::server
