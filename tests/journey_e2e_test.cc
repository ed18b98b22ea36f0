// The journey through the real binary on the embedded bus (label e2e):
// SubscribeJourney over gRPC resumes after a disconnect with nothing missed
// or repeated, and threadctl — a client for people — shows and drives it.

#include <sys/wait.h>

#include <fstream>
#include <set>

#include "slice_test_body.h"

namespace threadline::testing {
namespace {

class JourneyE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    suite_ =
        std::make_unique<SuiteProcess>((dir_.path() / "data").string(), std::vector<std::string>{},
                                       (dir_.path() / "threadline.log").string());
  }
  std::string Register(const std::string& id, const std::string& phone) {
    v1::RegisterCustomerResponse resp;
    auto s = suite_->Sales()->RegisterCustomer(Ctx().get(), NewCustomer(id, phone), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.customer_id();
  }
  // Runs threadctl against the suite; returns (exit status, output).
  std::pair<int, std::string> Ctl(std::vector<std::string> args) {
    std::vector<std::string> argv{BinaryFromEnv("THREADCTL_BIN"), "--address", suite_->address(),
                                  "--no-color"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string log = (dir_.path() / ("ctl-" + std::to_string(++ctl_runs_) + ".log")).string();
    ChildProcess p(argv, log);
    int status = p.Wait(std::chrono::seconds(30));
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, p.Log()};
  }

  TempDir dir_;
  std::unique_ptr<SuiteProcess> suite_;
  int ctl_runs_ = 0;
};

TEST_F(JourneyE2E, SubscribeResumesAfterADisconnectWithNothingMissedOrRepeated) {
  auto journey = suite_->Journey();
  v1::SubscribeJourneyRequest r;
  r.set_resume_token("0");
  std::vector<v1::JourneyUpdate> first;
  {
    auto ctx = Ctx("", std::chrono::seconds(30));
    auto reader = journey->SubscribeJourney(ctx.get(), r);
    std::string a = Register("sub-a", "+31611110001");
    std::string b = Register("sub-b", "+31611110002");
    v1::JourneyUpdate u;
    while (first.size() < 2 && reader->Read(&u)) first.push_back(u);
    ASSERT_EQ(first.size(), 2u);
    // Two customers on different partitions: the journey orders each
    // customer's updates, not one customer's against another's.
    EXPECT_EQ(
        (std::set<std::string>{first[0].entry().customer_id(), first[1].entry().customer_id()}),
        (std::set<std::string>{a, b}));
    EXPECT_EQ(first[1].context().name(), "Anna de Vries");
    ctx->TryCancel();  // the dashboard's connection drops
  }
  std::string c = Register("sub-c", "+31611110003");
  r.set_resume_token(first.back().resume_token());
  auto ctx = Ctx("", std::chrono::seconds(30));
  auto reader = journey->SubscribeJourney(ctx.get(), r);
  v1::JourneyUpdate u;
  ASSERT_TRUE(reader->Read(&u));
  EXPECT_EQ(u.entry().customer_id(), c);  // not b again, and nothing skipped
  ctx->TryCancel();

  // One customer only.
  v1::SubscribeJourneyRequest only;
  only.set_resume_token("0");
  only.add_customer_ids(c);
  auto ctx2 = Ctx("", std::chrono::seconds(30));
  auto reader2 = journey->SubscribeJourney(ctx2.get(), only);
  ASSERT_TRUE(reader2->Read(&u));
  EXPECT_EQ(u.entry().customer_id(), c);
  ctx2->TryCancel();

  v1::SubscribeJourneyRequest bad;
  bad.set_resume_token("yesterday");
  auto ctx3 = Ctx();
  auto reader3 = journey->SubscribeJourney(ctx3.get(), bad);
  EXPECT_FALSE(reader3->Read(&u));
  EXPECT_EQ(reader3->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(JourneyE2E, ThreadctlShowsFindsAndDrivesTheSuite) {
  std::string customer = Register("ctl-1", "+31622220001");
  ASSERT_TRUE(WaitFor([&] { return !Timeline(*suite_, customer).empty(); }));

  auto [found_status, found] = Ctl({"customer", "find", "06 2222 0001"});
  EXPECT_EQ(found_status, 0) << found;
  EXPECT_NE(found.find(customer), std::string::npos) << found;

  auto [log_status, logged] =
      Ctl({"sales", "log-contact", "--customer-id", customer, "--channel", "phone", "--direction",
           "inbound", "--outcome", "asked when the engineer comes"});
  EXPECT_EQ(log_status, 0) << logged;
  EXPECT_NE(logged.find("\"version\": \"2\""), std::string::npos) << logged;

  ASSERT_TRUE(WaitFor([&] { return Timeline(*suite_, customer).size() == 2; }));
  auto [show_status, shown] = Ctl({"journey", "show", customer});
  EXPECT_EQ(show_status, 0) << shown;
  EXPECT_NE(shown.find("Customer Anna de Vries registered"), std::string::npos) << shown;
  EXPECT_NE(shown.find("asked when the engineer comes"), std::string::npos) << shown;

  auto [json_status, json] = Ctl({"--json", "journey", "show", customer});
  EXPECT_EQ(json_status, 0);
  EXPECT_NE(json.find("\"kind\": \"ContactLogged\""), std::string::npos) << json;

  auto [card_status, card] = Ctl({"context", customer});
  EXPECT_EQ(card_status, 0) << card;
  EXPECT_NE(card.find("+31622220001"), std::string::npos) << card;

  // Mistakes get a clear message and a non-zero exit, not a crash.
  auto [bad_status, bad] =
      Ctl({"sales", "log-contact", "--customer-id", customer, "--channel", "pigeon"});
  EXPECT_EQ(bad_status, 2) << bad;
  EXPECT_NE(bad.find("--channel"), std::string::npos) << bad;
  auto [missing_status, missing] = Ctl({"journey", "show", "cus_0190aaaaaaaaaaaaaaaaaaaaaaaaaaaa"});
  EXPECT_EQ(missing_status, 1);
  EXPECT_NE(missing.find("NOT_FOUND"), std::string::npos) << missing;
}

}  // namespace
}  // namespace threadline::testing
