// The demo story on the embedded default (label e2e): what scripts/run shows.

#include "demo_test_body.h"

namespace threadline::testing {
namespace {

TEST(DemoE2E, TheStoryEndsOnACardThatTellsItAll) {
  TempDir dir;
  SuiteProcess suite((dir.path() / "data").string(), {}, (dir.path() / "threadline.log").string());
  std::string customer = PlayDemo(suite.address(), (dir.path() / "demo.log").string());
  ASSERT_FALSE(customer.empty()) << suite.Log();
  ExpectDemoCard(suite, customer);
}

}  // namespace
}  // namespace threadline::testing
