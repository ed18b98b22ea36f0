// The vertical slice in one process on the embedded bus (label e2e).

#include <fstream>

#include "slice_test_body.h"

namespace threadline::testing {
namespace {

class EmbeddedSlice : public ::testing::Test, public SliceDeployment {
 protected:
  void SetUp() override {
    suite_ = std::make_unique<SuiteProcess>((dir_.path() / "data").string(),
                                            std::vector<std::string>{},
                                            (dir_.path() / "threadline.log").string());
  }
  SuiteProcess& sales() override { return *suite_; }
  SuiteProcess& journey() override { return *suite_; }

  TempDir dir_;
  std::unique_ptr<SuiteProcess> suite_;
};

TEST_F(EmbeddedSlice, RegisterReachesTheTimeline) { RegisterReachesTheTimeline(*this); }
TEST_F(EmbeddedSlice, SurvivesKillNineRightAfterTheAnswer) {
  SurvivesKillNineRightAfterTheAnswer(*this);
}
TEST_F(EmbeddedSlice, RetryReturnsTheFirstAnswer) { RetryReturnsTheFirstAnswer(*this); }
TEST_F(EmbeddedSlice, BadInputNamesTheField) { BadInputNamesTheField(*this); }

// Authentication and authorisation through the real binary.
class AuthSlice : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tokens = (dir_.path() / "tokens").string();
    std::ofstream(tokens) << "# test tokens\n"
                          << "sales-token-0123456789 alice sales\n"
                          << "dash-token-0123456789 wall dashboard\n";
    suite_ = std::make_unique<SuiteProcess>(
        (dir_.path() / "data").string(), std::vector<std::string>{"--tokens-file", tokens},
        (dir_.path() / "threadline.log").string());
  }
  TempDir dir_;
  std::unique_ptr<SuiteProcess> suite_;
};

TEST_F(AuthSlice, TokensAndRolesAreEnforced) {
  auto req = NewCustomer("auth-1", "+31655555555");
  v1::RegisterCustomerResponse resp;
  auto s = suite_->Sales()->RegisterCustomer(Ctx().get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  s = suite_->Sales()->RegisterCustomer(Ctx("unknown-token-0123456789").get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  s = suite_->Sales()->RegisterCustomer(Ctx("dash-token-0123456789").get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  v1::GetAccountRequest account;
  account.set_customer_id("cus_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  v1::Account account_resp;
  s = suite_->Billing()->GetAccount(Ctx("sales-token-0123456789").get(), account, &account_resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  s = suite_->Sales()->RegisterCustomer(Ctx("sales-token-0123456789").get(), req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  // The event records who acted.
  std::vector<v1::TimelineEntry> entries;
  ASSERT_TRUE(WaitFor([&] {
    entries = Timeline(*suite_, resp.customer_id(), "dash-token-0123456789");
    return !entries.empty();
  }));
  EXPECT_EQ(entries[0].actor().principal(), "alice");
  EXPECT_EQ(entries[0].actor().role(), "sales");
}

}  // namespace
}  // namespace threadline::testing
