// Order -> work order -> partial installation -> invoice, in one
// `threadline serve` process on the embedded bus (label e2e).

#include "order_to_invoice_test_body.h"

namespace threadline::testing {
namespace {

class EmbeddedOrderToInvoice : public ::testing::Test, public OrderToInvoiceDeployment {
 protected:
  void SetUp() override {
    suite_ =
        std::make_unique<SuiteProcess>((dir_.path() / "data").string(), std::vector<std::string>{},
                                       (dir_.path() / "threadline.log").string());
  }
  SuiteProcess& sales() override { return *suite_; }
  SuiteProcess& installation() override { return *suite_; }
  SuiteProcess& billing() override { return *suite_; }

  TempDir dir_;
  std::unique_ptr<SuiteProcess> suite_;
};

TEST_F(EmbeddedOrderToInvoice, BroadbandNotDeliveredIsHeldAndNotInvoiced) {
  BroadbandNotDeliveredIsHeldAndNotInvoiced(*this);
}

}  // namespace
}  // namespace threadline::testing
