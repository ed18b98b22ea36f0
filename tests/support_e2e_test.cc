// Support through the real binary on the embedded bus (label e2e): a missed
// call from a number nobody knows joins a customer's journey as soon as sales
// registers a customer with that number, whatever format either side typed.

#include "slice_test_body.h"

namespace threadline::testing {
namespace {

TEST(SupportE2E, MissedCallFromAnUnknownNumberJoinsTheJourneyOfItsLaterOwner) {
  TempDir dir;
  SuiteProcess suite((dir.path() / "data").string(), {}, (dir.path() / "threadline.log").string());

  v1::RecordMissedCallRequest call;
  call.set_request_id("e2e-missed-1");
  call.set_channel(v1::CHANNEL_PHONE);
  call.set_caller_number("0031 6 4444 5555");
  call.set_line("support");
  v1::RecordMissedCallResponse missed;
  auto s = suite.Support()->RecordMissedCall(Ctx().get(), call, &missed);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(missed.customer_id().empty());

  v1::RegisterCustomerResponse registered;
  s = suite.Sales()->RegisterCustomer(Ctx().get(), NewCustomer("e2e-reg-1", "+31 6 4444-5555"),
                                      &registered);
  ASSERT_TRUE(s.ok()) << s.error_message();

  std::vector<v1::TimelineEntry> entries;
  auto linked = [&] {
    for (const auto& e : entries) {
      if (e.kind() == "MissedCallLinked") return &e;
    }
    return static_cast<const v1::TimelineEntry*>(nullptr);
  };
  ASSERT_TRUE(WaitFor(
      [&] {
        entries = Timeline(suite, registered.customer_id());
        return linked() != nullptr;
      },
      std::chrono::seconds(20)))
      << suite.Log();
  const v1::TimelineEntry* entry = linked();
  EXPECT_EQ(entry->department(), v1::DEPARTMENT_SUPPORT);
  EXPECT_EQ(entry->refs().at("callback_id"), missed.callback_id());
  EXPECT_EQ(entries.front().kind(), "CustomerRegistered");
}

}  // namespace
}  // namespace threadline::testing
