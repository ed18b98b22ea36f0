#include "threadline/testing/testing.h"

#include <gtest/gtest-spi.h>

#include <set>

namespace threadline::testing {
namespace {

// Counts its calls: a status assertion must evaluate its argument once,
// failing or not. (gtest-spi's failure checks cannot see locals.)
int calls = 0;

absl::Status Missing() {
  ++calls;
  return absl::NotFoundError("no stream order-1; check the order id");
}
absl::StatusOr<int> Busy() {
  ++calls;
  return absl::UnavailableError("store busy; retry");
}
absl::StatusOr<int> Seven() {
  ++calls;
  return 7;
}

TEST(StatusAssertions, PassEvaluatingOnce) {
  calls = 0;
  EXPECT_OK(absl::OkStatus());
  ASSERT_OK(Seven());
  EXPECT_OK(Seven()) << "never printed";
  EXPECT_EQ(calls, 2);
}

TEST(StatusAssertions, ExpectOkPrintsTheExpressionAndTheStatusOfItsOneCall) {
  calls = 0;
  EXPECT_NONFATAL_FAILURE(EXPECT_OK(Missing()),
                          "Missing() is not OK: NOT_FOUND: no stream order-1; check the order id");
  EXPECT_EQ(calls, 1);
  EXPECT_NONFATAL_FAILURE(EXPECT_OK(Busy()) << "while seeding",
                          "Busy() is not OK: UNAVAILABLE: store busy; retry\nwhile seeding");
  EXPECT_EQ(calls, 2);
}

TEST(StatusAssertions, AssertOkStopsTheTestAfterOneCall) {
  calls = 0;
  EXPECT_FATAL_FAILURE(ASSERT_OK(Busy()), "Busy() is not OK: UNAVAILABLE: store busy; retry");
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace threadline::testing

namespace threadline::testing {
namespace {

// A test takes ports for processes it starts later; the kernel would hand a
// just-released port out again, so two processes of one test would share it.
TEST(FreePort, NeverGivesTheSamePortTwice) {
  std::set<int> ports;
  for (int i = 0; i < 200; ++i) {
    const int p = FreePort();
    EXPECT_GT(p, 0);
    EXPECT_TRUE(ports.insert(p).second) << "port " << p << " given twice";
  }
}

}  // namespace
}  // namespace threadline::testing
