#include "threadline/common/histogram.h"

#include <gtest/gtest.h>

namespace threadline {
namespace {

TEST(LatencyHistogramTest, BucketsAreUpperBoundsInclusiveWithOverflow) {
  LatencyHistogram h;
  h.Observe(std::chrono::microseconds(500));  // exactly the first bound
  h.Observe(std::chrono::microseconds(501));  // just above: second bucket
  h.Observe(std::chrono::seconds(60));        // above every bound
  h.Observe(std::chrono::milliseconds(-5));   // clock skew counts as zero
  HistogramSnapshot s = h.Snapshot();
  ASSERT_EQ(s.buckets.size(), kLatencyBounds.size() + 1);
  EXPECT_EQ(s.buckets[0], 2u);
  EXPECT_EQ(s.buckets[1], 1u);
  EXPECT_EQ(s.buckets.back(), 1u);
  EXPECT_EQ(s.count(), 4u);
  EXPECT_NEAR(s.sum_seconds, 60.001001, 1e-9);
}

}  // namespace
}  // namespace threadline
