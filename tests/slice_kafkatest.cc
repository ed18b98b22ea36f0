// The vertical slice against a real Kafka broker: sales and journey each in
// their own `threadline serve` process (label kafka).

#include "slice_test_body.h"

namespace threadline::testing {
namespace {

class KafkaSlice : public ::testing::Test, public SliceDeployment {
 protected:
  void SetUp() override {
    std::string brokers = KafkaBootstrapForTests();
    privacy_ = StartPrivacyProcess(dir_.path(), brokers);
    sales_ = std::make_unique<SuiteProcess>(
        (dir_.path() / "sales").string(),
        WithKeysFrom(*privacy_, {"--target", "sales", "--kafka-brokers", brokers}),
        (dir_.path() / "sales.log").string());
    journey_ = std::make_unique<SuiteProcess>(
        (dir_.path() / "journey").string(),
        WithKeysFrom(*privacy_, {"--target", "journey", "--kafka-brokers", brokers}),
        (dir_.path() / "journey.log").string());
  }
  SuiteProcess& sales() override { return *sales_; }
  SuiteProcess& journey() override { return *journey_; }

  TempDir dir_;
  std::unique_ptr<SuiteProcess> privacy_;
  std::unique_ptr<SuiteProcess> sales_;
  std::unique_ptr<SuiteProcess> journey_;
};

TEST_F(KafkaSlice, RegisterReachesTheTimeline) { RegisterReachesTheTimeline(*this); }
TEST_F(KafkaSlice, SurvivesKillNineRightAfterTheAnswer) {
  SurvivesKillNineRightAfterTheAnswer(*this);
}
TEST_F(KafkaSlice, RetryReturnsTheFirstAnswer) { RetryReturnsTheFirstAnswer(*this); }

}  // namespace
}  // namespace threadline::testing
