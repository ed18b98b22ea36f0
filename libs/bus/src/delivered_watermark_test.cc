#include "threadline/bus/delivered_watermark.h"

#include <gtest/gtest.h>

namespace threadline::bus {
namespace {

TEST(DeliveredWatermarkTest, MovesOnlyOverAnUnbrokenRunOfDeliveries) {
  DeliveredWatermark w;
  w.Delivered(1);
  EXPECT_EQ(w.value(), 1u);
  w.Delivered(3);
  w.Delivered(4);
  EXPECT_EQ(w.value(), 1u);  // 2 has no report yet
  w.Delivered(2);
  EXPECT_EQ(w.value(), 4u);
}

TEST(DeliveredWatermarkTest, ReportsInAnyOrderEndAtTheLastPosition) {
  DeliveredWatermark w(10);
  for (uint64_t p : {15, 12, 14, 11, 13}) w.Delivered(p);
  EXPECT_EQ(w.value(), 15u);
  w.Delivered(17);
  EXPECT_EQ(w.value(), 15u);
  w.Delivered(16);
  EXPECT_EQ(w.value(), 17u);
}

TEST(DeliveredWatermarkTest, RepeatedAndOldReportsChangeNothing) {
  DeliveredWatermark w(5);
  w.Delivered(3);  // re-published and delivered again
  w.Delivered(5);
  EXPECT_EQ(w.value(), 5u);
  w.Delivered(7);
  w.Delivered(7);
  w.Delivered(6);
  EXPECT_EQ(w.value(), 7u);
  w.Delivered(8);
  EXPECT_EQ(w.value(), 8u);
}

TEST(DeliveredWatermarkTest, ForgettingTheReportsAheadKeepsTheWatermark) {
  DeliveredWatermark w;
  w.Delivered(1);
  w.Delivered(3);
  w.ForgetAhead();  // 2 failed: everything after 1 goes out again
  EXPECT_EQ(w.value(), 1u);
  w.Delivered(2);
  EXPECT_EQ(w.value(), 2u);  // 3's old report no longer counts
  w.Delivered(3);
  EXPECT_EQ(w.value(), 3u);
}

}  // namespace
}  // namespace threadline::bus
