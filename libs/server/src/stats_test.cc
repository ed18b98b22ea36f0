#include "threadline/server/stats.h"

#include <gtest/gtest.h>

#include <thread>

namespace threadline::server {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ServerStatsTest, CountsByCodeAndLatencyBucket) {
  ServerStats stats;
  stats.Record("/m/B", 0, microseconds(100));  // first bucket (<= 0.5 ms)
  stats.Record("/m/B", 0, milliseconds(1));    // exactly on a bound: that bucket
  stats.Record("/m/B", 16, milliseconds(30));  // (25, 50] ms
  stats.Record("/m/B", 99, seconds(60));       // bad code -> UNKNOWN; overflow bucket
  stats.Record("/m/A", 7, milliseconds(2));

  auto snap = stats.Snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_EQ(snap[0].method, "/m/A");  // sorted
  const MethodStats& b = snap[1];
  EXPECT_EQ(b.method, "/m/B");
  EXPECT_EQ(b.total_calls(), 4u);
  EXPECT_EQ(b.calls[0], 2u);
  EXPECT_EQ(b.calls[16], 1u);
  EXPECT_EQ(b.calls[2], 1u);
  EXPECT_EQ(b.latency_buckets[0], 1u);
  EXPECT_EQ(b.latency_buckets[1], 1u);
  EXPECT_EQ(b.latency_buckets[6], 1u);
  EXPECT_EQ(b.latency_buckets.back(), 1u);
  EXPECT_NEAR(b.latency_sum_seconds, 60.0311, 1e-6);
  EXPECT_EQ(snap[0].calls[7], 1u);
}

TEST(ServerStatsTest, ConcurrentRecordingLosesNothing) {
  ServerStats stats;
  constexpr int kThreads = 4, kCalls = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&stats, t] {
      for (int i = 0; i < kCalls; ++i) {
        stats.Record("/m/" + std::to_string(i % 3), t % 2 == 0 ? 0 : 5, microseconds(i));
      }
    });
  }
  for (auto& th : threads) th.join();
  uint64_t total = 0;
  for (const auto& m : stats.Snapshot()) total += m.total_calls();
  EXPECT_EQ(total, uint64_t{kThreads} * kCalls);
}

TEST(ServerStatsTest, CodeNames) {
  EXPECT_EQ(StatusCodeName(0), "OK");
  EXPECT_EQ(StatusCodeName(7), "PERMISSION_DENIED");
  EXPECT_EQ(StatusCodeName(16), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(17), "UNKNOWN_CODE");
}

}  // namespace
}  // namespace threadline::server
