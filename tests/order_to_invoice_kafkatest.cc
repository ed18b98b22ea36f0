// Order -> work order -> partial installation -> invoice against a real
// Kafka broker: sales, installation and billing each in their own
// `threadline serve` process with their own data directory (label kafka).

#include "order_to_invoice_test_body.h"

namespace threadline::testing {
namespace {

class KafkaOrderToInvoice : public ::testing::Test, public OrderToInvoiceDeployment {
 protected:
  void SetUp() override {
    const std::string brokers = KafkaBootstrapForTests();
    ASSERT_FALSE(brokers.empty()) << "no Kafka broker; run with ctest -L kafka";
    privacy_ = StartPrivacyProcess(dir_.path(), brokers);
    auto start = [&](const std::string& target) {
      return std::make_unique<SuiteProcess>(
          (dir_.path() / target).string(),
          WithKeysFrom(*privacy_, {"--target", target, "--kafka-brokers", brokers}),
          (dir_.path() / (target + ".log")).string());
    };
    sales_ = start("sales");
    installation_ = start("installation");
    billing_ = start("billing");
  }
  SuiteProcess& sales() override { return *sales_; }
  SuiteProcess& installation() override { return *installation_; }
  SuiteProcess& billing() override { return *billing_; }
  // Three hops over the broker (sales -> installation -> billing).
  std::chrono::milliseconds propagation() const override { return std::chrono::seconds(40); }

  TempDir dir_;
  std::unique_ptr<SuiteProcess> privacy_;
  std::unique_ptr<SuiteProcess> sales_;
  std::unique_ptr<SuiteProcess> installation_;
  std::unique_ptr<SuiteProcess> billing_;
};

TEST_F(KafkaOrderToInvoice, BroadbandNotDeliveredIsHeldAndNotInvoiced) {
  BroadbandNotDeliveredIsHeldAndNotInvoiced(*this);
}

}  // namespace
}  // namespace threadline::testing
